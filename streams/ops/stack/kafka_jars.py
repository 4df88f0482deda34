"""The Apache Kafka jars, assembled once from Maven Central into a cache outside the work tree.

Apache's download site is unreachable from the machines this runs on, but Maven Central
serves Kafka 4.x and its dependencies; ``kafka-pom.xml`` lists them and ``mvn`` copies
them into ``<cache>/kafka-<version>/libs``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from streams.ops.stack.errors import blocked

POM = Path(__file__).with_name("kafka-pom.xml")
TOOLS_POM = Path(__file__).with_name("kafka-tools-pom.xml")
MVN_TIMEOUT_S = 900
# Written after mvn succeeds, so an interrupted copy is never mistaken for a complete one.
COMPLETE_MARKER = ".complete"


def kafka_home(cache_dir: Path, version: str) -> Path:
    """The cache directory of one Kafka version."""
    return cache_dir / f"kafka-{version}"


def libs_dir(cache_dir: Path, version: str) -> Path:
    """Where the jars of one Kafka version live."""
    return kafka_home(cache_dir, version) / "libs"


def is_complete(cache_dir: Path, version: str) -> bool:
    """True when a previous run copied every jar of this version."""
    return (kafka_home(cache_dir, version) / COMPLETE_MARKER).is_file()


def mvn_command(mvn: str, version: str, libs: Path, pom: Path = POM) -> list[str]:
    """The mvn invocation that copies Kafka ``version`` and its runtime deps into ``libs``."""
    return [
        mvn,
        "-q",
        "-B",
        "-f",
        str(pom),
        f"-Dkafka.version={version}",
        "dependency:copy-dependencies",
        f"-DoutputDirectory={libs}",
        "-DincludeScope=runtime",
    ]


def run_mvn(argv: list[str], log_path: Path) -> bool:
    """Run mvn with its output in ``log_path`` (replaced); whether it succeeded in time."""
    with open(log_path, "wb") as log:
        try:
            result = subprocess.run(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=MVN_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return False
    return result.returncode == 0


def ensure_tool_jars(cache_dir: Path, version: str, echo: Callable[[str], None]) -> Path:
    """The directory of Kafka's command line tools (and their deps), fetched on first use
    into a directory of their own: never into the libs a running broker has open."""
    return ensure_jars(cache_dir, version, echo, what="tools")


def ensure_jars(
    cache_dir: Path, version: str, echo: Callable[[str], None], what: str = "broker"
) -> Path:
    """The libs directory of Kafka ``version`` (``what``: the ``broker`` or its command
    line ``tools``), running mvn first if it is not complete.

    Raises ``StackError`` naming mvn's log when mvn is missing or fails.
    """
    home = kafka_home(cache_dir, version)
    tools = what == "tools"
    libs = home / ("tools-libs" if tools else "libs")
    marker = home / (f"{COMPLETE_MARKER}-tools" if tools else COMPLETE_MARKER)
    if marker.is_file():
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise blocked(
            f"mvn (Apache Maven) is needed once to fetch the Kafka {version} jars into {libs}: "
            "install it (apt-get install maven)",
            "KAFKA_BOOTSTRAP_SERVERS",
        )
    home.mkdir(parents=True, exist_ok=True)
    log_path = home / ("mvn-tools.log" if tools else "mvn.log")
    echo(f"kafka: fetching Kafka {version} jars with mvn into {libs} (first run only)...")
    failed = not run_mvn(mvn_command(mvn, version, libs, TOOLS_POM if tools else POM), log_path)
    if failed or not any(libs.glob("kafka-tools-*.jar" if tools else "kafka_2.13-*.jar")):
        raise blocked(
            f"mvn could not fetch the Kafka {version} jars from Maven Central; read {log_path}",
            "KAFKA_BOOTSTRAP_SERVERS",
        )
    marker.write_text(version + "\n")
    return libs
