"""A single-node Apache Kafka 4 broker (KRaft, broker and controller in one JVM)."""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

from streams.adapters.kafka_clients import KafkaRefused, kafka_python_config
from streams.config.kafka_security import KafkaSecurity
from streams.config.settings import Settings
from streams.ops.stack.address import HostPort, accepts_connections, parse_kafka_bootstrap
from streams.ops.stack.errors import StackError, blocked
from streams.ops.stack.kafka_jars import ensure_jars
from streams.ops.stack.process import spawn_detached
from streams.ops.stack.server import LocalServer

LOG4J_CONFIG = Path(__file__).with_name("log4j2.yaml")
HEAP = "-Xmx1g"


# What a credential of the local broker may hold: JAAS strings, properties files and the
# ``--add-scram`` syntax each treat other characters specially.
_PLAIN_CREDENTIAL = re.compile(r"^[A-Za-z0-9_.@:/+!#$%&*?^~-]+$")
SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")


def listener_protocol(security: KafkaSecurity) -> str:
    """The protocol of the local broker's client listener: the one the clients use.

    A one-node broker on loopback needs no TLS, so SSL and SASL_SSL are refused.
    """
    if security.uses_ssl:
        raise blocked(
            f"kafka: the local broker serves PLAINTEXT or SASL_PLAINTEXT, not "
            f"{security.protocol}; unset KAFKA_SECURITY_PROTOCOL or set it to SASL_PLAINTEXT",
            "KAFKA_BOOTSTRAP_SERVERS",
        )
    if security.uses_sasl:
        for name, value in (
            ("USERNAME", security.sasl_username),
            ("PASSWORD", security.sasl_password),
        ):
            if not _PLAIN_CREDENTIAL.match(value):
                raise StackError(
                    f"kafka: KAFKA_SASL_{name} for the local broker may hold letters, digits "
                    "and _.@:/+!#$%&*?^~- only (no quotes, commas, '=', brackets or spaces)"
                )
    return security.protocol


def _sasl_properties(security: KafkaSecurity) -> dict[str, str]:
    """The SASL half of server.properties: the client listener authenticates with the
    configured mechanism, and the broker talks to itself as the same user (SCRAM users
    are created at format time, ``--add-scram``; PLAIN users are listed in the JAAS line)."""
    mechanism = security.mechanism
    user, password = security.sasl_username, security.sasl_password
    jaas = security.jaas_config(f' user_{user}="{password}"' if mechanism == "PLAIN" else "")
    return {
        "inter.broker.listener.name": "SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": mechanism,
        "sasl.mechanism.inter.broker.protocol": mechanism,
        f"listener.name.sasl_plaintext.{mechanism.lower()}.sasl.jaas.config": jaas,
    }


def render_server_properties(
    endpoint: HostPort, log_dir: Path, security: KafkaSecurity | None = None
) -> str:
    """server.properties of a one-node KRaft cluster; the controller port is Kafka's + 1.

    The client listener speaks the clients' protocol (PLAINTEXT, or SASL_PLAINTEXT with
    their mechanism); the controller listener stays PLAINTEXT on loopback.
    """
    security = security or KafkaSecurity()
    protocol = listener_protocol(security)
    controller = HostPort(endpoint.host, endpoint.port + 1)
    lines = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{controller}",
        "listeners": f"{protocol}://{endpoint},CONTROLLER://{controller}",
        "advertised.listeners": f"{protocol}://{endpoint}",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": f"{protocol}:{protocol},CONTROLLER:PLAINTEXT",
        **(_sasl_properties(security) if security.uses_sasl else {}),
        "log.dirs": str(log_dir),
        "num.partitions": "1",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        # orderflow creates every topic (Faust's included) explicitly, so a typo in a
        # topic name fails loudly instead of silently creating a new topic.
        "auto.create.topics.enable": "false",
    }
    return "".join(f"{key}={value}\n" for key, value in lines.items())


def new_cluster_id() -> str:
    """A cluster id as ``kafka-storage random-uuid`` makes it: 16 random bytes, base64url.

    Made here to save a JVM start; Kafka rejects ids starting with '-'.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


@contextlib.contextmanager
def _quiet_kafka_client() -> Iterator[None]:
    # kafka-python logs every refused connection at ERROR while we poll a starting broker.
    logger = logging.getLogger("kafka")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(previous)


def kafka_answers(settings: Settings, timeout_ms: int = 2000) -> bool:
    """True when a Kafka broker answers a metadata request at the settings' bootstrap
    servers, with their security settings (a refused login still counts: it is a broker,
    and the clients report the refusal themselves)."""
    from kafka import KafkaAdminClient  # imported late: it is slow and only needed here

    with _quiet_kafka_client():
        try:
            admin = KafkaAdminClient(
                **kafka_python_config(settings),
                client_id="orderflow-stack",
                bootstrap_timeout_ms=timeout_ms,
                request_timeout_ms=timeout_ms,
            )
        except KafkaRefused:
            return True
        except Exception:  # any failure to bootstrap means "does not answer"
            return False
        try:
            admin.list_topics()
            return True
        except Exception:
            return False
        finally:
            admin.close()


class LocalKafka(LocalServer):
    """Kafka under ``<data dir>/kafka``: ``data/``, ``server.properties``, ``server.log``."""

    name = "kafka"
    variable = "KAFKA_BOOTSTRAP_SERVERS"
    start_timeout_s = 60.0
    stop_timeout_s = 30.0

    def __init__(self, settings: Settings, echo: Callable[[str], None] = print) -> None:
        endpoint = parse_kafka_bootstrap(settings.kafka_bootstrap_servers)
        super().__init__(
            settings.kafka_bootstrap_servers, endpoint, settings.data_dir / "kafka", "kafka.Kafka"
        )
        self.settings = settings
        self.cache_dir = settings.cache_dir
        self.version = settings.kafka_version
        self.echo = echo

    @property
    def log_path(self) -> Path:
        return self.home / "server.log"

    @property
    def data_path(self) -> Path:
        return self.home / "data"

    def ports(self) -> list[tuple[HostPort, str]]:
        assert self.endpoint is not None
        controller = HostPort(self.endpoint.host, self.endpoint.port + 1)
        return [(self.endpoint, ""), (controller, " (the controller port: Kafka's port + 1)")]

    def answers(self) -> bool:
        # A TCP check first: it is instant, while a client bootstrap waits its full timeout.
        if self.is_local and self.endpoint and not accepts_connections(self.endpoint):
            return False
        return kafka_answers(self.settings)

    def launch(self) -> int:
        java = shutil.which("java")
        if java is None:
            raise blocked(
                "kafka: java (17 or newer) is needed to run a local broker: install it "
                "(apt-get install openjdk-17-jre-headless)",
                self.variable,
            )
        libs = ensure_jars(self.cache_dir, self.version, self.echo)
        assert self.endpoint is not None
        self.data_path.mkdir(parents=True, exist_ok=True)
        security = self.settings.kafka_security
        properties = self.home / "server.properties"
        # Private: with SASL it holds the broker's own password.
        write_private(properties, render_server_properties(self.endpoint, self.data_path, security))
        jvm = [
            java,
            "-cp",
            f"{libs}/*",
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            f"-Dkafka.logs.dir={self.home}",
        ]
        # Formatting twice would fail; meta.properties marks a formatted log directory.
        if not (self.data_path / "meta.properties").exists():
            self._format(jvm, properties, security)
        else:
            self._check_formatted_for(security)
        return spawn_detached(
            [*jvm, HEAP, "kafka.Kafka", str(properties)], self.log_path, self.home
        )

    @property
    def listener_path(self) -> Path:
        """Records the listener the storage was formatted for (SCRAM users live in it)."""
        return self.home / "listener"

    def _check_formatted_for(self, security: KafkaSecurity) -> None:
        formatted = self.listener_path.read_text().strip() if self.listener_path.exists() else ""
        wanted = security.describe()
        if (formatted or "PLAINTEXT") != wanted and security.mechanism in SCRAM_MECHANISMS:
            raise blocked(
                f"kafka: the storage in {self.data_path} was formatted for "
                f"{formatted or 'PLAINTEXT'}, not {wanted}: its SCRAM users are made at "
                "format time; use another ORDERFLOW_DATA_DIR (or remove that directory)",
                self.variable,
            )

    def _format(self, jvm: list[str], properties: Path, security: KafkaSecurity) -> None:
        self.echo(f"kafka: formatting new storage in {self.data_path}")
        argv = [*jvm, "kafka.tools.StorageTool", "format", "-t", new_cluster_id()]
        users: list[str] = []
        if security.uses_sasl and security.mechanism in SCRAM_MECHANISMS:
            # The java launcher expands @file arguments: the password stays out of `ps`.
            scram = (
                f"{security.mechanism}=[name={security.sasl_username},"
                f"password={security.sasl_password}]"
            )
            argfile = self.home / "format.args"
            write_private(argfile, f"--add-scram\n{scram}\n")
            users.append(f"@{argfile}")
        with open(self.log_path, "ab") as log:
            result = subprocess.run(
                [*argv, "-c", str(properties), *users],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=120,
                check=False,
            )
        (self.home / "format.args").unlink(missing_ok=True)
        if result.returncode != 0:
            raise blocked(
                f"kafka: formatting the storage in {self.data_path} failed; read {self.log_path}",
                self.variable,
            )
        self.listener_path.write_text(security.describe() + "\n")


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)  # an older file may have had wider rights
        handle.write(text)
