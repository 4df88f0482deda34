"""Replay against a real broker, Redis and ClickHouse, with records produced at known
timestamps: where it starts and ends, a full rebuild through shadows, a mid-log repair
of deliberately corrupted models, and live consumer groups left where they were."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner
from kafka import TopicPartition
from kafka.structs import OffsetAndMetadata

from sinks.clickhouse_schema import drop_schema, shadow_database
from sinks.redis_keys import order_key, read_generation, status_counts_key, user_orders_key
from streams.adapters.admin import create_topics, delete_namespace_topics
from streams.cli.main import _register, cli
from streams.config.settings import Settings
from streams.config.timeparse import from_millis
from streams.ops.consumer_groups import commit_offsets, committed_offsets
from tests.integration.replay_log import (
    clickhouse_sink,
    clickhouse_state,
    produce_log,
    project_live,
    redis_sink,
    redis_state,
)
from tests.support import orderflow

pytestmark = pytest.mark.integration
_register()


def run_cli(settings: Settings, *args: str):
    env = {
        "ORDERFLOW_NAMESPACE": settings.namespace,
        "CLICKHOUSE_URL": settings.clickhouse_url,
        "ORDERFLOW_DATA_DIR": str(settings.data_dir),
    }
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def drift(settings: Settings) -> int:
    """``orderflow verify``'s total drift between the log fold and both read models (the
    log is produced without the aggregate: no command results for the write-side check)."""
    result = run_cli(settings, "verify", "--json", "--read-side-only")
    return json.loads(result.stdout)["drift"]


@pytest.fixture
def log(settings):
    create_topics(settings)
    events = produce_log(settings)
    yield events
    delete_namespace_topics(settings)


@pytest.fixture
def reference(settings, redis_client, clickhouse_client, log):
    """The models a live worker builds from the log, in a namespace of their own."""
    prefix, db = f"{settings.redis_prefix}ref:", f"{settings.clickhouse_database}_ref"
    project_live(log, redis_sink(redis_client, prefix), clickhouse_sink(clickhouse_client, db))
    yield redis_state(redis_client, prefix), clickhouse_state(clickhouse_client, db)
    drop_schema(clickhouse_client, db)


def test_dry_run_starts_at_the_first_record_at_or_after_the_time(settings, log):
    by_partition: dict[int, list] = {}
    for e in log:
        by_partition.setdefault(e.partition, []).append(e)
    # A time just after the last record of the partition that ends first: that
    # partition has nothing at or after it and must start at its end offset.
    early = min(by_partition, key=lambda p: by_partition[p][-1].timestamp_ms)
    start_ms = by_partition[early][-1].timestamp_ms + 1
    end_ms = sorted(e.timestamp_ms for e in log)[-5]  # exactly a record's time: included
    result = run_cli(
        settings,
        "replay",
        "--from",
        from_millis(start_ms),
        "--to",
        from_millis(end_ms),
        "--dry-run",
        "--json",
    )
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["mode"] == "repair"
    rows = {r["partition"]: r for r in plan["partitions"] if r["topic"].endswith(".orders.events")}
    assert set(rows) == {0, 1, 2, 3}
    for partition, row in rows.items():
        records = by_partition.get(partition, [])
        end_offset = records[-1].offset + 1 if records else 0
        starts = [e.offset for e in records if e.timestamp_ms >= start_ms]
        ends = [e.offset for e in records if e.timestamp_ms > end_ms]
        assert row["start_offset"] == (starts[0] if starts else end_offset), partition
        assert row["end_offset"] == max(row["start_offset"], ends[0] if ends else end_offset)
        assert row["records"] == row["end_offset"] - row["start_offset"]
        expected = [e for e in records if start_ms <= e.timestamp_ms <= end_ms]
        assert row["records"] == len(expected)
    assert rows[early]["start_offset"] == rows[early]["end_offset"] == len(by_partition[early])


def test_full_rebuild_equals_the_live_model_and_leaves_groups_alone(
    settings, log, reference, redis_client, clickhouse_client
):
    prefix, db = settings.redis_prefix, settings.clickhouse_database
    # The live models drifted: a projection bug lost orders and wrote garbage.
    project_live(log[: len(log) // 2], redis_sink(redis_client, prefix))
    project_live(log[: len(log) // 3], clickhouse_sink(clickhouse_client, db))
    redis_client.hset(order_key(prefix, "ghost"), mapping={"version": 9, "status": "shipped"})
    group = settings.app_id
    tps = [TopicPartition(settings.topic("orders.events"), p) for p in range(4)]
    offsets = {tp: OffsetAndMetadata(3, "", -1) for tp in tps}
    commit_offsets(settings, group, offsets)
    before = committed_offsets(settings, group)

    result = run_cli(settings, "replay", "--from", "earliest", "--json")

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["mode"] == "rebuild" and summary["swapped"] is True
    assert summary["records"] == len(log)
    assert summary["written"] == {"redis": len(log), "clickhouse": len(log)}
    assert read_generation(redis_client, prefix) == 1
    assert not redis_client.exists(order_key(prefix, "ghost"))  # the old generation is gone
    ref_redis, ref_clickhouse = reference
    assert redis_state(redis_client, prefix) == ref_redis
    assert clickhouse_state(clickhouse_client, db) == ref_clickhouse
    assert committed_offsets(settings, group) == before
    names = [r[0] for r in clickhouse_client.query("SELECT name FROM system.databases").result_rows]
    assert shadow_database(db) not in names
    assert drift(settings) == 0


def test_mid_log_repair_restores_corrupted_models(
    settings, log, reference, redis_client, clickhouse_client
):
    prefix, db = settings.redis_prefix, settings.clickhouse_database
    project_live(log, redis_sink(redis_client, prefix), clickhouse_sink(clickhouse_client, db))
    cut = len(log) * 2 // 3
    from_ms = log[cut].timestamp_ms
    window = [e for e in log if e.timestamp_ms >= from_ms]
    deleted, altered = window[0].body["order_id"], window[-1].body["order_id"]
    created = next(e for e in log if e.name == "OrderCreated" and e.body["order_id"] == deleted)
    redis_client.delete(order_key(prefix, deleted))
    redis_client.zrem(user_orders_key(prefix, created.body["user_id"]), deleted)
    redis_client.hset(order_key(prefix, altered), mapping={"status": "lost", "total_cents": 1})
    redis_client.hincrby(status_counts_key(prefix), "lost", 1)
    for table in ("order_events", "orders"):
        clickhouse_client.command(
            f"DELETE FROM `{db}`.{table} WHERE order_id = {{o:String}}", parameters={"o": deleted}
        )
    clickhouse_client.command(
        f"INSERT INTO `{db}`.order_events (event_id, event_name, order_id, version, status) "
        "VALUES ('bogus', 'OrderDelivered', {o:String}, 99, 'delivered')",
        parameters={"o": altered},
    )
    assert redis_state(redis_client, prefix) != reference[0]
    assert drift(settings) > 0

    result = run_cli(settings, "replay", "--from", from_millis(from_ms), "--json")

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["mode"] == "repair"
    assert summary["repaired_orders"] == len({e.body["order_id"] for e in window})
    assert redis_state(redis_client, prefix) == reference[0]
    assert clickhouse_state(clickhouse_client, db) == reference[1]
    assert drift(settings) == 0


def test_clickhouse_is_refused_while_another_process_owns_the_embedded_directory(
    settings, log, clickhouse_client, tmp_path
):
    if not settings.uses_embedded_clickhouse:
        pytest.skip("only embedded ClickHouse has a single owner")
    env = dict(os.environ)
    env.update(ORDERFLOW_NAMESPACE=settings.namespace, CLICKHOUSE_URL=settings.clickhouse_url)
    done = orderflow(env, "replay", "--from", "earliest", timeout=60)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert f"owned by process {os.getpid()}" in done.stderr
    assert "--projection redis" in done.stderr


def test_an_interrupted_rebuild_leaves_the_live_model_unswapped(settings, log, redis_client):
    from streams.adapters.codec import AvroCodec
    from streams.adapters.schema_store import SchemaStore
    from streams.ops.replay.plan import make_plan
    from streams.ops.replay.reader import open_replay_consumer
    from streams.ops.replay.run import Replay, Summary, timed
    from streams.ops.replay.shadow import RedisTarget

    prefix = settings.redis_prefix
    project_live(log, redis_sink(redis_client, prefix))
    before = redis_state(redis_client, prefix)

    def interrupt(_n: int) -> None:
        raise KeyboardInterrupt

    consumer = open_replay_consumer(settings)
    try:
        ranges = make_plan(consumer, [settings.topic("orders.events")], None, None)
        target = RedisTarget(redis_client, prefix)
        job = Replay(settings, consumer, AvroCodec(SchemaStore.load()), [target], 10, interrupt)
        summary = Summary("rebuild", ["redis"])
        timed(lambda: job.rebuild(ranges, summary), summary)
    finally:
        consumer.close()
    assert summary.interrupted and not summary.swapped
    assert read_generation(redis_client, prefix) == 0
    assert redis_state(redis_client, prefix) == before
