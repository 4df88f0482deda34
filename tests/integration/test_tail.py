"""``orderflow tail`` on every topic a real worker wrote while orders went through their
sagas (every scenario, and one malformed command that is dead-lettered)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from streams.adapters.admin import admin_client, delete_namespace_topics
from streams.ops.tail import Where, tail
from tests.integration.saga_support import SCENARIOS, SagaWorker, codec, new_order_id
from tests.support import eventually, orderflow

pytestmark = pytest.mark.integration

# Declared topics the scenarios below leave empty: a snapshot is taken every 50 events.
QUIET = {"orders.snapshots"}


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    worker = SagaWorker(tmp_path_factory.mktemp("tail"))
    try:
        orders = [
            worker.place(new_order_id(name), sku, quantity, price)
            for name, (sku, quantity, price, _, _) in SCENARIOS.items()
        ]
        worker.client.send_raw(b"tail-malformed", b"\x00 not an Avro record")
        worker.client.flush()
        for order_id in orders:
            worker.wait_final(order_id)
        yield worker, orders
    finally:
        worker.close()
        delete_namespace_topics(worker.settings)


def written_topics(settings) -> list[str]:
    admin = admin_client(settings)
    try:
        prefixes = (f"{settings.namespace}.", f"{settings.app_id}-")
        return sorted(t for t in admin.list_topics() if t.startswith(prefixes))
    finally:
        admin.close()


def test_tail_decodes_every_topic_the_pipeline_writes(ran):
    worker, _ = ran
    settings = worker.settings
    topics = written_topics(settings)
    assert any(t.endswith("-changelog") for t in topics)  # the tables' topics are read too
    seen = {}
    for topic in topics:
        records = list(tail(settings, codec, topic, Where("earliest")))
        seen[topic] = records
        for record in records:
            assert {"partition", "offset", "timestamp", "key", "headers"} <= set(record)
            assert record["timestamp"].endswith("+00:00")
            if record["key"] == "tail-malformed":  # as sent, then parked with the reason
                assert "error" in record and record["length"] > 0 and record["hex"]
                parked = topic == settings.topic("orders.dead-letters")
                assert bool(record["headers"]) == parked, record
                continue
            assert "error" not in record, (topic, record)
            if not topic.endswith("-changelog"):
                assert record["schema"] and isinstance(record["version"], int), record
    empty = {t for t, records in seen.items() if not records}
    declared_empty = {t for t in empty if t.startswith(f"{settings.namespace}.")}
    assert declared_empty <= {settings.topic(t) for t in QUIET | {"saga.ticks"}}, empty


def test_tail_cli_filters_by_key_and_prints_json_lines(ran):
    worker, orders = ran
    done = orderflow(worker.env, "tail", "orders.events", "--key", orders[0], "--json")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines and all(line["key"] == orders[0] for line in lines)
    assert lines[0]["schema"] == "OrderCreated" and lines[0]["value"]["order_id"] == orders[0]


def test_tail_cli_shows_an_undecodable_value_and_stops_at_max(ran):
    worker, _ = ran
    done = orderflow(worker.env, "tail", "orders.dead-letters", "--max", "1")
    assert done.returncode == 0, done.stderr
    assert "undecodable (" in done.stdout and "error: " in done.stdout and "hex: " in done.stdout
    done = orderflow(worker.env, "tail", "orders.commands", "--from", "1h", "--max", "2")
    assert done.returncode == 0 and done.stdout.count(" @") == 2, done.stdout


def test_tail_follow_prints_records_written_after_it_started(ran):
    worker, _ = ran
    follow = subprocess.Popen(
        [sys.executable, "-m", "streams.cli.main", "tail", "orders.commands", "--follow",
         "--json", "--max", "1"],
        env=worker.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        # Sent until the follower prints one: it starts at the end, wherever that is then.
        def printed() -> bool:
            worker.client.send_raw(b"tail-follow", b"\x00 later")
            worker.client.flush()
            return follow.poll() is not None

        eventually(printed, timeout=60, what="tail --follow to print a new record")
        out, err = follow.communicate(timeout=10)
    finally:
        if follow.poll() is None:
            follow.kill()
            follow.wait()
    assert follow.returncode == 0, err
    assert json.loads(out)["key"] == "tail-follow"
