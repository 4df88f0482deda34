"""Kafka configuration rendering and the jar cache."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from streams.ops.stack import kafka_jars
from streams.ops.stack.address import HostPort
from streams.ops.stack.errors import StackError
from streams.ops.stack.kafka import new_cluster_id, render_server_properties

pytestmark = pytest.mark.unit


def _parse(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def test_properties_single_node_kraft_with_controller_on_next_port(tmp_path: Path) -> None:
    props = _parse(render_server_properties(HostPort("127.0.0.1", 29092), tmp_path / "data"))
    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:29093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:29092"
    assert props["log.dirs"] == str(tmp_path / "data")
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["auto.create.topics.enable"] == "false"


def test_cluster_id_is_16_bytes_base64url() -> None:
    ids = {new_cluster_id() for _ in range(50)}
    assert len(ids) == 50
    for cluster_id in ids:
        assert len(cluster_id) == 22 and not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_mvn_command_overrides_the_version_and_targets_the_cache(tmp_path: Path) -> None:
    argv = kafka_jars.mvn_command("mvn", "4.0.0", tmp_path / "libs")
    assert "-Dkafka.version=4.0.0" in argv
    assert f"-DoutputDirectory={tmp_path / 'libs'}" in argv
    assert str(kafka_jars.POM) in argv and kafka_jars.POM.is_file()


def test_complete_cache_skips_mvn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = kafka_jars.kafka_home(tmp_path, "4.1.1")
    home.mkdir(parents=True)
    (home / kafka_jars.COMPLETE_MARKER).write_text("4.1.1\n")
    monkeypatch.setattr(kafka_jars.shutil, "which", lambda name: pytest.fail("looked for mvn"))
    assert kafka_jars.ensure_jars(tmp_path, "4.1.1", print) == home / "libs"


def test_missing_mvn_is_one_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kafka_jars.shutil, "which", lambda name: None)
    with pytest.raises(StackError) as raised:
        kafka_jars.ensure_jars(tmp_path, "4.1.1", print)
    message = str(raised.value)
    assert "mvn" in message and "KAFKA_BOOTSTRAP_SERVERS" in message
    assert "docker compose up" in message and "\n" not in message


def test_missing_java_is_one_clear_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from streams.config.settings import Settings
    from streams.ops.stack import kafka

    monkeypatch.setattr(kafka.shutil, "which", lambda name: None)
    server = kafka.LocalKafka(Settings.from_env({"ORDERFLOW_DATA_DIR": str(tmp_path)}))
    with pytest.raises(StackError) as raised:
        server.launch()
    message = str(raised.value)
    assert message.startswith("kafka: java") and "KAFKA_BOOTSTRAP_SERVERS" in message


def test_sasl_settings_give_a_scram_listener_and_a_plaintext_controller(tmp_path: Path) -> None:
    from streams.config.kafka_security import KafkaSecurity

    security = KafkaSecurity("SASL_PLAINTEXT", "SCRAM-SHA-512", "of", "pw-1")
    props = _parse(render_server_properties(HostPort("127.0.0.1", 29092), tmp_path, security))
    assert props["listeners"] == "SASL_PLAINTEXT://127.0.0.1:29092,CONTROLLER://127.0.0.1:29093"
    assert (
        props["listener.security.protocol.map"]
        == "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT"
    )
    assert props["sasl.enabled.mechanisms"] == props["sasl.mechanism.inter.broker.protocol"]
    jaas = props["listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config"]
    assert jaas.startswith("org.apache.kafka.common.security.scram.ScramLoginModule required")


def test_local_broker_refuses_tls_and_odd_credentials(tmp_path: Path) -> None:
    from streams.config.kafka_security import KafkaSecurity

    with pytest.raises(StackError, match="SASL_PLAINTEXT"):
        render_server_properties(HostPort("127.0.0.1", 1), tmp_path, KafkaSecurity("SSL"))
    quoted = KafkaSecurity("SASL_PLAINTEXT", "PLAIN", "of", 'pw"x')
    with pytest.raises(StackError, match="KAFKA_SASL_PASSWORD"):
        render_server_properties(HostPort("127.0.0.1", 1), tmp_path, quoted)
