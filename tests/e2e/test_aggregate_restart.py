"""The aggregate worker killed (-9) in the middle of a command stream loses nothing and
duplicates nothing: every order's versions are 1..n with no gap and no repeat."""

from __future__ import annotations

import collections
import signal

import pytest

from streams.adapters.admin import create_topics, delete_namespace_topics
from streams.adapters.client import CommandClient, new_command
from streams.adapters.codec import AvroCodec
from streams.adapters.schema_store import SchemaStore
from streams.config.settings import Settings
from tests.support import AGGREGATE_ONLY, read_topic, start_worker, worker_env

pytestmark = pytest.mark.e2e

ORDERS = 60
LINE = {"sku": "SKU-9", "quantity": 1, "unit_price_cents": 700}


def lifecycle(order_id: str) -> list:
    return [
        new_command("CreateOrder", order_id, user_id="u", items=[LINE], currency="EUR"),
        new_command("ConfirmOrder", order_id),
        new_command("ShipOrder", order_id, tracking_number=f"T-{order_id}"),
    ]


# Regression test for the recovery race fixed in streams/runtime/faust_fixes.py
# (faust-streaming/faust#596): before the fix the restarted worker skipped 2-8 commands
# in most runs here (5 of 5 in a row with memory://), because records delivered while
# recovery seeked the stream partitions were cleared from the agent's queue.
@pytest.mark.parametrize("store", ["memory://", "rocksdb://"])
def test_kill_9_mid_stream_loses_nothing_and_duplicates_nothing(tmp_path, store):
    env = worker_env(tmp_path, ORDERFLOW_STORE=store, ORDERFLOW_AGENTS=AGGREGATE_ONLY)
    settings = Settings.from_env(env)
    create_topics(settings)
    codec = AvroCodec(SchemaStore.load())
    client = CommandClient(settings, codec)
    client.start_listening()
    worker = start_worker(env, tmp_path, "worker-1")
    try:
        commands = [c for n in range(ORDERS) for c in lifecycle(f"o-{n:03d}")]
        half = len(commands) // 2
        for command in commands[:half]:
            client.send(command)
        client.flush()
        # Kill once the worker is demonstrably mid-stream: some outcomes out, not all.
        first = client.wait_for_results([commands[10]["command_id"]], timeout=60)
        assert first, "the worker answered nothing before the kill"
        worker.proc.send_signal(signal.SIGKILL)
        worker.proc.wait()
        for command in commands[half:]:
            client.send(command)
        client.flush()
        worker = start_worker(env, tmp_path, "worker-2")
        results = client.wait_for_results([c["command_id"] for c in commands], timeout=120)
        assert len(results) == len(commands)
        assert {r["status"] for r in results.values()} == {"accepted"}

        # A repeated command id gets its first outcome again and emits nothing new.
        repeat = commands[0]
        client.send(repeat)
        client.flush()
        again = client.wait_for_results([repeat["command_id"]], timeout=60)[repeat["command_id"]]
        assert again["version"] == 1
        assert again["event_ids"] == results[repeat["command_id"]]["event_ids"]
    finally:
        client.close()
        worker.stop()

    records = read_topic(settings, "orders.events", expect=len(commands))
    assert len(records) == len(commands), "events lost or duplicated"
    versions = collections.defaultdict(list)
    event_ids = set()
    for record in records:
        event = codec.decode(record.value)
        versions[event["order_id"]].append(event["version"])
        event_ids.add(event["event_id"])
    assert len(event_ids) == len(records)
    assert all(v == [1, 2, 3] for v in versions.values()), versions
    assert len(versions) == ORDERS
    delete_namespace_topics(settings)
