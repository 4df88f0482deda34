"""A single-node Apache Kafka 4 broker (KRaft, broker and controller in one JVM)."""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

from streams.settings import Settings
from streams.stack.address import HostPort, accepts_connections, parse_kafka_bootstrap
from streams.stack.errors import blocked
from streams.stack.kafka_jars import ensure_jars
from streams.stack.process import spawn_detached
from streams.stack.server import LocalServer

LOG4J_CONFIG = Path(__file__).with_name("log4j2.yaml")
HEAP = "-Xmx1g"


def render_server_properties(endpoint: HostPort, log_dir: Path) -> str:
    """server.properties of a one-node KRaft cluster; the controller port is Kafka's + 1."""
    controller = HostPort(endpoint.host, endpoint.port + 1)
    lines = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{controller}",
        "listeners": f"PLAINTEXT://{endpoint},CONTROLLER://{controller}",
        "advertised.listeners": f"PLAINTEXT://{endpoint}",
        "controller.listener.names": "CONTROLLER",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
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


def kafka_answers(bootstrap_servers: str, timeout_ms: int = 2000) -> bool:
    """True when a Kafka broker answers a metadata request at ``bootstrap_servers``."""
    from kafka import KafkaAdminClient  # imported late: it is slow and only needed here

    with _quiet_kafka_client():
        try:
            admin = KafkaAdminClient(
                bootstrap_servers=bootstrap_servers,
                client_id="orderflow-stack",
                bootstrap_timeout_ms=timeout_ms,
                request_timeout_ms=timeout_ms,
            )
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
        return kafka_answers(self.address)

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
        properties = self.home / "server.properties"
        properties.write_text(render_server_properties(self.endpoint, self.data_path))
        jvm = [
            java,
            "-cp",
            f"{libs}/*",
            f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
            f"-Dkafka.logs.dir={self.home}",
        ]
        # Formatting twice would fail; meta.properties marks a formatted log directory.
        if not (self.data_path / "meta.properties").exists():
            self._format(jvm, properties)
        return spawn_detached(
            [*jvm, HEAP, "kafka.Kafka", str(properties)], self.log_path, self.home
        )

    def _format(self, jvm: list[str], properties: Path) -> None:
        self.echo(f"kafka: formatting new storage in {self.data_path}")
        argv = [*jvm, "kafka.tools.StorageTool", "format", "-t", new_cluster_id()]
        with open(self.log_path, "ab") as log:
            result = subprocess.run(
                [*argv, "-c", str(properties)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=120,
                check=False,
            )
        if result.returncode != 0:
            raise blocked(
                f"kafka: formatting the storage in {self.data_path} failed; read {self.log_path}",
                self.variable,
            )
