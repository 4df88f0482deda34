"""``orderflow consumer-group reset``: moves an inactive group like Kafka's own tool and
refuses a group with active members."""

from __future__ import annotations

import json

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from streams.adapters.admin import create_topics, delete_namespace_topics
from streams.adapters.kafka_clients import kafka_python_config
from streams.config.timeparse import from_millis
from streams.ops.consumer_groups import commit_offsets, committed_offsets
from tests.integration.replay_log import produce_log
from tests.integration.test_replay_rebuild import run_cli
from tests.support import eventually

pytestmark = pytest.mark.integration


@pytest.fixture
def log(settings):
    create_topics(settings)
    events = produce_log(settings, seed=5, orders=30)
    yield events
    delete_namespace_topics(settings)


def commit(settings, group: str, offset: int) -> dict:
    tps = [TopicPartition(settings.topic("orders.events"), p) for p in range(4)]
    offsets = {tp: OffsetAndMetadata(offset, "", -1) for tp in tps}
    commit_offsets(settings, group, offsets)
    return committed_offsets(settings, group)


def test_reset_moves_an_inactive_group_to_the_first_record_at_or_after_the_time(settings, log):
    group = f"{settings.namespace}-inactive"
    commit(settings, group, 0)
    at = sorted(e.timestamp_ms for e in log)[len(log) // 2]
    expected = {}
    for p in range(4):
        records = [e for e in log if e.partition == p]
        later = [e.offset for e in records if e.timestamp_ms >= at]
        expected[p] = later[0] if later else len(records)

    dry = run_cli(
        settings,
        "consumer-group",
        "reset",
        "--group",
        group,
        "--to-datetime",
        from_millis(at),
        "--dry-run",
        "--json",
    )
    assert dry.exit_code == 0, dry.output
    assert {r["partition"]: r["new_offset"] for r in json.loads(dry.stdout)["partitions"]} == (
        expected
    )
    assert set(committed_offsets(settings, group).values()) == {0}  # a dry run moves nothing

    done = run_cli(
        settings,
        "consumer-group",
        "reset",
        "--group",
        group,
        "--to-datetime",
        from_millis(at),
        "--json",
    )
    assert done.exit_code == 0, done.output
    moved = committed_offsets(settings, group)
    assert {tp.partition: offset for tp, offset in moved.items()} == expected


def test_reset_refuses_a_group_with_active_members(settings, log):
    group = f"{settings.namespace}-active"
    before = commit(settings, group, 1)
    member = KafkaConsumer(
        **kafka_python_config(settings),
        group_id=group,
        enable_auto_commit=False,
    )
    # Metadata first: a member that joins before it knows the topic's partitions can be
    # assigned nothing ("No partition metadata") and stay so (seen once in CI).
    assert member.partitions_for_topic(settings.topic("orders.events"))
    member.subscribe([settings.topic("orders.events")])
    try:
        eventually(
            lambda: member.poll(timeout_ms=200) is not None and member.assignment(),
            timeout=30,
            what="the member to join its group",
        )
        result = run_cli(
            settings, "consumer-group", "reset", "--group", group, "--to-datetime", "1d"
        )
        assert result.exit_code == 1
        assert "active member" in result.stderr and result.stderr.count("\n") == 1
        assert committed_offsets(settings, group) == before
    finally:
        member.close(autocommit=False)
