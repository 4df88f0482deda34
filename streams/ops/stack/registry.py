"""A local Apicurio Registry: the Confluent-compatible schema registry of ``stack up --registry``.

Apicurio Registry serves Confluent's Schema Registry API under ``/apis/ccompat/v7``, so
Confluent's serializers, kcat and the like work against it. It is built once from Maven
Central into the cache (``apicurio/pom.xml`` says how and why this version) and runs as
one JVM with its H2 database in a file under ``<data dir>/registry``, so schema ids stay
what they were across ``stack down``/``up``, like the Kafka data that refers to them.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from streams.adapters.schema_registry import (
    RegistryRefused,
    RegistryUnavailable,
    SchemaRegistryClient,
)
from streams.config.settings import Settings
from streams.ops.stack.address import HostPort
from streams.ops.stack.errors import StackError, blocked
from streams.ops.stack.kafka_jars import COMPLETE_MARKER, run_mvn
from streams.ops.stack.process import PidFile, spawn_detached
from streams.ops.stack.server import LocalServer

VARIABLE = "SCHEMA_REGISTRY_URL"
APICURIO_VERSION = "2.4.2.Final"
SOURCE = Path(__file__).with_name("apicurio")
API_PATH = "/apis/ccompat/v7"
DEFAULT_URL = f"http://127.0.0.1:18081{API_PATH}"
RUNNER = "orderflow-registry-1-runner.jar"  # also the PidFile's marker, via its path
HEAP = "-Xmx384m"


def registry_home(cache_dir: Path) -> Path:
    """The cache directory of the registry build."""
    return cache_dir / f"apicurio-registry-{APICURIO_VERSION}"


def source_digest() -> str:
    """A digest of the build's sources: a build from other sources is built again."""
    digest = hashlib.sha256()
    for path in sorted(p for p in SOURCE.rglob("*") if p.is_file()):
        digest.update(path.relative_to(SOURCE).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def ensure_registry(cache_dir: Path, echo: Callable[[str], None]) -> Path:
    """The runnable registry jar, built with mvn on first use (a few minutes, once)."""
    home = registry_home(cache_dir)
    runner = home / "build" / "target" / RUNNER
    marker = home / COMPLETE_MARKER
    built_from = f"{APICURIO_VERSION} {source_digest()}\n"
    if marker.is_file() and marker.read_text() == built_from and runner.is_file():
        return runner
    mvn = shutil.which("mvn")
    if mvn is None:
        raise blocked(
            f"mvn (Apache Maven) is needed once to build Apicurio Registry {APICURIO_VERSION} "
            f"into {home}: install it (apt-get install maven)",
            VARIABLE,
        )
    build = home / "build"
    shutil.copytree(SOURCE, build, dirs_exist_ok=True)
    log_path = home / "mvn.log"
    echo(
        f"registry: building Apicurio Registry {APICURIO_VERSION} with mvn into {build} "
        "(first run only)..."
    )
    argv = [mvn, "-q", "-B", "-f", str(build / "pom.xml"), "package", "-DskipTests"]
    if not run_mvn(argv, log_path) or not runner.is_file():
        raise blocked(
            f"registry: mvn could not build Apicurio Registry {APICURIO_VERSION} from Maven "
            f"Central; read {log_path}",
            VARIABLE,
        )
    marker.write_text(built_from)
    return runner


def registry_endpoint(url: str) -> HostPort:
    """Host and port of a registry URL (http's port 80 and https's 443 by default)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StackError(f"{VARIABLE} must be an http:// or https:// URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise StackError(f"{VARIABLE} has an invalid port") from None
    return HostPort(parts.hostname, port)


def registry_answers(url: str, timeout_s: float = 2.0) -> bool:
    """True when a Confluent-compatible registry answers ``GET /subjects`` at ``url``
    (a refused login still counts: it is a registry)."""
    try:
        SchemaRegistryClient(url, timeout_s).subjects()
        return True
    except RegistryRefused as exc:
        return exc.status in (401, 403)
    except (RegistryUnavailable, ValueError, TypeError):
        return False


class LocalRegistry(LocalServer):
    """Apicurio Registry under ``<data dir>/registry``: its database and ``registry.log``."""

    name = "registry"
    variable = VARIABLE
    start_timeout_s = 120.0  # a Quarkus JVM on two busy cores
    stop_timeout_s = 20.0

    def __init__(self, settings: Settings, echo: Callable[[str], None] = print) -> None:
        home = settings.data_dir / "registry"
        # Unset, the address is the one the running local registry was started on (it is
        # written down at start), else the default.
        url = settings.schema_registry_url or _started_on(home) or DEFAULT_URL
        super().__init__(url, registry_endpoint(url), home, RUNNER)
        self.cache_dir = settings.cache_dir
        self.echo = echo

    @property
    def log_path(self) -> Path:
        return self.home / "registry.log"

    @property
    def data_path(self) -> Path:
        return self.home / "db"

    def answers(self) -> bool:
        return registry_answers(self.address)

    def launch(self) -> int:
        parts = urlsplit(self.address)
        if parts.scheme != "http" or parts.path.rstrip("/") != API_PATH or parts.password:
            raise StackError(
                f"registry: the local registry serves plain http without a login, with the "
                f"Confluent API under {API_PATH}; set {VARIABLE}=http://HOST:PORT{API_PATH} "
                f"(e.g. {DEFAULT_URL}), or point it at a registry that runs elsewhere"
            )
        java = shutil.which("java")
        if java is None:
            raise blocked(
                "registry: java (17 or newer) is needed to run a local registry: install it "
                "(apt-get install openjdk-17-jre-headless)",
                VARIABLE,
            )
        runner = ensure_registry(self.cache_dir, self.echo)
        assert self.endpoint is not None
        self.home.mkdir(parents=True, exist_ok=True)
        argv = [
            java,
            HEAP,
            f"-Dquarkus.http.host={self.endpoint.host}",
            f"-DHTTP_PORT={self.endpoint.port}",
            # A file, not Apicurio's default in-memory database: ids outlive a restart.
            f"-DREGISTRY_DATASOURCE_URL=jdbc:h2:file:{self.data_path / 'registry'}",
            # Not ENABLE_CCOMPAT_CANONICAL_HASH_MODE: with it, Apicurio 2.4 serves a
            # record's fields sorted by name, which is another schema on the wire.
            "-jar",
            str(runner),
        ]
        pid = spawn_detached(argv, self.log_path, self.home)
        (self.home / STARTED_ON).write_text(self.address + "\n")
        return pid


STARTED_ON = "url"  # in the registry's home: the address it was started on


def _started_on(home: Path) -> str:
    """The address the local registry in ``home`` runs on, when it runs."""
    try:
        url = (home / STARTED_ON).read_text().strip()
    except OSError:
        return ""
    pid = PidFile(home / f"{LocalRegistry.name}.pid", RUNNER).running_pid()
    return url if pid is not None else ""
