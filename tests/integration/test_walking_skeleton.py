"""One order travels the whole way: command -> worker process -> Redis and ClickHouse.

A corrupt message lands on the dead-letter topic with its reason, and the next good
message is still processed.
"""

from __future__ import annotations

import json

import pytest

from sinks import redis_queries
from streams.adapters.admin import create_topics, delete_namespace_topics
from streams.adapters.client import CommandClient, new_command
from streams.adapters.codec import AvroCodec
from streams.adapters.schema_store import SchemaStore
from streams.config.settings import Settings
from streams.runtime.deadletter import REASON, SOURCE_TOPIC
from tests.support import (
    AGGREGATE_ONLY,
    eventually,
    get_json,
    orderflow,
    read_topic,
    start_worker,
    worker_env,
)

pytestmark = pytest.mark.integration

LINE = {"sku": "SKU-1", "quantity": 2, "unit_price_cents": 1250}


@pytest.fixture
def pipeline(tmp_path):
    env = worker_env(tmp_path, ORDERFLOW_AGENTS=AGGREGATE_ONLY)
    settings = Settings.from_env(env)
    create_topics(settings)
    worker = start_worker(env, tmp_path)
    codec = AvroCodec(SchemaStore.load())
    client = CommandClient(settings, codec)
    client.start_listening()
    yield settings, client, worker
    client.close()
    worker.stop()
    delete_namespace_topics(settings)


def test_order_reaches_both_read_models_and_bad_bytes_go_to_dead_letters(pipeline, redis_client):
    settings, client, worker = pipeline
    first = new_command(
        "CreateOrder", "order-a", "corr-skeleton", user_id="u1", items=[LINE], currency="EUR"
    )
    second = new_command(
        "CreateOrder", "order-b", "corr-skeleton", user_id="u1", items=[LINE], currency="EUR"
    )
    client.send(first)
    client.send_raw(b"order-x", b"\x00\x01 definitely not avro")
    client.send(second)
    client.flush()

    results = client.wait_for_results([first["command_id"], second["command_id"]], timeout=60)
    assert {r["status"] for r in results.values()} == {"accepted"}, results

    def both_in_redis():
        orders = [
            redis_queries.get_order(redis_client, settings.redis_prefix, i)
            for i in ("order-a", "order-b")
        ]
        return all(orders) and orders

    order_a, order_b = eventually(both_in_redis, what="both orders in Redis")
    assert order_a["status"] == "pending"
    assert order_a["total_cents"] == 2500
    assert order_a["version"] == 1

    url = f"{settings.web_url}/analytics/count/?correlation_id=corr-skeleton"
    counted = eventually(
        lambda: (get_json(url) or {}).get("rows", [{}])[0].get("orders") == 2 and get_json(url),
        what="both orders in ClickHouse",
    )
    assert counted["rows"][0]["orders"] == 2

    [parked] = read_topic(settings, "orders.dead-letters", expect=1)
    headers = dict(parked.headers)
    assert parked.value == b"\x00\x01 definitely not avro"
    assert headers[SOURCE_TOPIC].decode() == settings.topic("orders.commands")
    assert b"marker" in headers[REASON].lower() or b"short" in headers[REASON].lower()


def test_dead_letters_cli_shows_the_reason(pipeline):
    settings, client, worker = pipeline
    client.send_raw(b"k", b"\xc3\x01garbage")
    client.flush()
    env = dict(worker.env)

    def listed():
        done = orderflow(env, "dead-letters", "list", "--json", timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)["dead_letters"]

    [row] = eventually(listed, what="the dead letter to be listed")
    assert row["source"].startswith(settings.topic("orders.commands"))
    assert row["reason"] and row["bytes"] == 9
