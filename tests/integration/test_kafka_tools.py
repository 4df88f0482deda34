"""``orderflow kafka TOOL``: Kafka's own command line tools against the test cluster, from
the jars the stack fetches (the tools' own on first use)."""

from __future__ import annotations

import os

import pytest

from streams.adapters.admin import create_topics, delete_namespace_topics
from streams.config.kafka_security import KafkaSecurity
from streams.ops.kafka_tools import client_properties
from tests.support import orderflow

pytestmark = pytest.mark.integration


def test_kafka_topics_and_get_offsets_see_the_namespace_topics(settings):
    create_topics(settings)
    topic = settings.topic("orders.events")
    env = settings_env(settings)
    try:
        listed = orderflow(env, "kafka", "topics", "--list", timeout=600)
        offsets = orderflow(env, "kafka", "get-offsets", "--topic", topic, timeout=120)
    finally:
        delete_namespace_topics(settings)
    assert listed.returncode == 0, listed.stderr
    assert topic in listed.stdout.split()
    assert "SLF4J" not in listed.stderr  # the tools' logging is configured, not defaulted
    assert offsets.returncode == 0, offsets.stderr
    assert sorted(offsets.stdout.split()) == [f"{topic}:{p}:0" for p in range(4)]


def test_an_unknown_tool_is_a_usage_error_in_one_line(settings):
    out = orderflow(settings_env(settings), "kafka", "no-such-tool", timeout=60)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown tool 'no-such-tool'" in lines[0], out.stderr


def test_sasl_settings_become_the_tools_client_config():
    security = KafkaSecurity(
        protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-256",
        sasl_username="orderflow", sasl_password="s3cret",
    )  # fmt: skip
    props = client_properties(security)
    assert props["security.protocol"] == "SASL_PLAINTEXT"
    assert props["sasl.mechanism"] == "SCRAM-SHA-256"
    assert props["sasl.jaas.config"] == (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        'username="orderflow" password="s3cret";'
    )
    assert client_properties(KafkaSecurity()) == {}


def settings_env(settings) -> dict[str, str]:
    return {**os.environ, "ORDERFLOW_NAMESPACE": settings.namespace}
