"""Apache Kafka's own command line tools against orderflow's cluster: ``orderflow kafka
TOOL ARGS...`` runs ``kafka-TOOL.sh ARGS...`` from the jars the local stack already
fetched (no Kafka download, no ``bin/`` scripts), adding what orderflow knows: the
bootstrap server and, with SASL or TLS, a private client config file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from streams.config.kafka_security import KafkaSecurity
from streams.config.settings import Settings
from streams.ops.stack.errors import StackError
from streams.ops.stack.kafka_jars import ensure_jars, ensure_tool_jars

LOG4J_TOOLS = Path(__file__).parent / "stack" / "log4j2-tools.yaml"


@dataclass(frozen=True)
class Tool:
    main: str  # the Java class kafka-<name>.sh runs
    config_flag: str  # the option that takes a client properties file


TOOLS = {
    "topics": Tool("org.apache.kafka.tools.TopicCommand", "--command-config"),
    "consumer-groups": Tool(
        "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand", "--command-config"
    ),
    "console-consumer": Tool(
        "org.apache.kafka.tools.consumer.ConsoleConsumer", "--consumer.config"
    ),
    "console-producer": Tool("org.apache.kafka.tools.ConsoleProducer", "--producer.config"),
    "get-offsets": Tool("org.apache.kafka.tools.GetOffsetShell", "--command-config"),
    "configs": Tool("kafka.admin.ConfigCommand", "--command-config"),
    "transactions": Tool("org.apache.kafka.tools.TransactionsCommand", "--command-config"),
    "delete-records": Tool("org.apache.kafka.tools.DeleteRecordsCommand", "--command-config"),
    "log-dirs": Tool("org.apache.kafka.tools.LogDirsCommand", "--command-config"),
    "metadata-quorum": Tool("org.apache.kafka.tools.MetadataQuorumCommand", "--command-config"),
}


def client_properties(security: KafkaSecurity) -> dict[str, str]:
    """The Java client settings for ``security`` (empty for PLAINTEXT)."""
    if security.protocol == "PLAINTEXT":
        return {}
    props = {"security.protocol": security.protocol}
    if security.uses_sasl:
        props["sasl.mechanism"] = security.mechanism
        props["sasl.jaas.config"] = security.jaas_config()
    if security.uses_ssl:
        if security.ssl_cafile:
            props["ssl.truststore.type"] = "PEM"
            props["ssl.truststore.location"] = security.ssl_cafile
        if security.ssl_certfile:
            props["ssl.keystore.type"] = "PEM"
            props["ssl.keystore.location"] = security.ssl_certfile  # cert and key in one file
        if not security.ssl_check_hostname:
            props["ssl.endpoint.identification.algorithm"] = ""
    return props


@contextlib.contextmanager
def tool_command(settings: Settings, name: str, args: list[str]) -> Iterator[list[str]]:
    """The java command line of tool ``name`` with ``args``; a client config file it
    needs lives (mode 0600) until the context ends."""
    tool = TOOLS[name]
    java = shutil.which("java")
    if java is None:
        raise StackError(
            "java (17 or newer) runs the Kafka tools: apt-get install openjdk-17-jre-headless"
        )
    say = lambda line: print(line, file=sys.stderr)  # noqa: E731 - the first run fetches
    tools = ensure_tool_jars(settings.cache_dir, settings.kafka_version, say)
    broker = ensure_jars(settings.cache_dir, settings.kafka_version, say)  # ConfigCommand
    classpath = f"{tools}/*:{broker}/*"
    command = [java, "-cp", classpath, f"-Dlog4j2.configurationFile={LOG4J_TOOLS}", tool.main]
    if not any(a.startswith(("--bootstrap-server", "--bootstrap-controller")) for a in args):
        command += ["--bootstrap-server", settings.kafka_bootstrap_servers]
    props = client_properties(settings.kafka_security)
    with tempfile.TemporaryDirectory(prefix="orderflow-kafka-tool-") as tmp:
        if props and tool.config_flag not in args:
            path = Path(tmp) / "client.properties"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.writelines(f"{key}={value}\n" for key, value in props.items())
            command += [tool.config_flag, str(path)]
        yield command + list(args)
