"""A deployment that ran as one process is not restarted as role processes (or the other
way round): their consumer groups and tables differ, so the switch would process the
whole log again with empty tables. The worker refuses with one line instead."""

from __future__ import annotations

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from streams.adapters.admin import create_topics
from streams.adapters.kafka_clients import kafka_python_config
from streams.config.settings import Settings
from tests.support import orderflow, worker_env

pytestmark = pytest.mark.integration


def commit_some_offset(settings: Settings, group: str) -> None:
    """What a worker of ``group`` leaves behind: a committed offset."""
    consumer = KafkaConsumer(
        **kafka_python_config(settings),
        group_id=group,
        enable_auto_commit=False,
    )
    try:
        tp = TopicPartition(settings.topic("orders.commands"), 0)
        consumer.assign([tp])
        consumer.commit({tp: OffsetAndMetadata(0, "", -1)})
    finally:
        consumer.close()


def test_role_processes_refuse_a_deployment_that_ran_as_one_process(tmp_path):
    env = worker_env(tmp_path)
    settings = Settings.from_env(env)
    create_topics(settings)
    commit_some_offset(settings, settings.app_id)
    result = orderflow(env, "worker", timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: this deployment ran as {settings.app_id}")
    assert "orderflow worker --role all" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    one_role = orderflow(env, "worker", "--role", "saga", timeout=60)
    assert one_role.returncode == 1 and "ran as" in one_role.stderr


def test_one_process_refuses_a_deployment_that_ran_as_role_processes(tmp_path):
    env = worker_env(tmp_path)
    settings = Settings.from_env(env)
    create_topics(settings)
    commit_some_offset(settings, f"{settings.app_id}-orders")
    result = orderflow(env, "worker", "--role", "all", timeout=60)
    assert result.returncode == 1
    assert f"ran as {settings.app_id}-orders" in result.stderr
    assert "Keep running `orderflow worker`" in result.stderr
