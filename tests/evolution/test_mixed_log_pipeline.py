"""A log holding v1 and v2 records mixed projects exactly like an all-v2 log, through real
worker processes; a record written with an unknown schema is dead-lettered with its
fingerprint and the pipeline keeps going."""

from __future__ import annotations

import json
import random

import pytest
import redis
from kafka import KafkaProducer

from sinks import redis_queries
from streams.adapters.admin import create_topics, delete_namespace_topics
from streams.adapters.codec import AvroCodec
from streams.adapters.kafka_clients import kafka_python_config
from streams.adapters.schema_store import SchemaStore
from streams.config.settings import Settings
from streams.messages import Message
from streams.runtime.deadletter import FINGERPRINT, REASON
from tests.evolution.versioned_writes import write_with_version
from tests.support import (
    AGGREGATE_ONLY,
    eventually,
    get_json,
    orderflow,
    read_topic,
    start_worker,
    worker_env,
)

pytestmark = [pytest.mark.evolution, pytest.mark.integration]

ORDERS = 40
T0 = 1_790_000_000_000
UNKNOWN_FINGERPRINT = bytes.fromhex("0badc0ffee0ddf00")


def envelope(order_id: str, version: int, n: int) -> dict:
    return {
        "event_id": f"{order_id}-e{version}",
        "order_id": order_id,
        "version": version,
        "occurred_at": T0 + n * 60_000,
        "correlation_id": "evolution",
        "causation_id": f"{order_id}-c{version}",
    }


def history(n: int, rng: random.Random) -> list[Message]:
    """Latest-shaped events of one order: created, confirmed, then shipped or cancelled."""
    oid = f"order-{n:03d}"
    items = [
        {
            "sku": f"SKU-{rng.randint(1, 5)}",
            "quantity": rng.randint(1, 3),
            "unit_price_cents": 250 * rng.randint(1, 8),
        }
    ]
    total = sum(i["quantity"] * i["unit_price_cents"] for i in items)
    events = [
        Message(
            "OrderCreated",
            {
                **envelope(oid, 1, n),
                "user_id": f"u{n % 7}",
                "items": items,
                "currency": "EUR",
                "total_cents": total,
                "sales_channel": "web",
            },
        ),
        Message("OrderConfirmed", envelope(oid, 2, n)),
    ]
    if n % 4 == 0:
        events.append(
            Message("OrderCancelled", {**envelope(oid, 3, n), "reason": "customer request"})
        )
    else:
        events.append(
            Message(
                "OrderShipped",
                {
                    **envelope(oid, 3, n),
                    "tracking_number": f"TRK-{n}",
                    "carrier_name": "dhl",
                    "weight_kg": 1.5,
                    "shipping_cost_cents": 1234,
                },
            )
        )
    return events


def produce(settings: Settings, codec: AvroCodec, events: list[Message], mixed: bool) -> None:
    producer = KafkaProducer(**kafka_python_config(settings))
    topic = settings.topic("orders.events")
    for i, event in enumerate(events):
        old = mixed and i % 2 == 0 and len(codec.store.versions(event.name)) > 1
        value = write_with_version(codec, event, 1) if old else codec.encode(event)
        producer.send(topic, key=event["order_id"].encode(), value=value)
        if mixed and i == len(events) // 2:
            # Valid single-object marker, but a writer schema nobody knows.
            producer.send(
                topic, key=b"stranger", value=b"\xc3\x01" + UNKNOWN_FINGERPRINT + b"\x02\x04"
            )
    producer.flush()
    producer.close()


def read_models(settings: Settings, redis_client, order_ids: list[str]) -> dict:
    orders = {i: redis_queries.get_order(redis_client, settings.redis_prefix, i) for i in order_ids}
    analytics = {
        name: (get_json(f"{settings.web_url}/analytics/{name}/") or {}).get("rows")
        for name in ("funnel", "top-skus", "cancellations", "daily")
    }
    return {"orders": orders, "analytics": analytics}


@pytest.fixture
def redis_client():
    client = redis.Redis.from_url(Settings.from_env().redis_url)
    yield client
    client.close()


def test_mixed_v1_v2_log_projects_like_an_all_v2_log(tmp_path, redis_client):
    codec = AvroCodec(SchemaStore.load())
    rng = random.Random(11)
    events = [e for n in range(ORDERS) for e in history(n, rng)]
    ids = sorted({e["order_id"] for e in events})
    results, workers, namespaces = {}, [], []
    try:
        for label, mixed in (("mixed", True), ("v2", False)):
            env = worker_env(tmp_path / label, ORDERFLOW_AGENTS=AGGREGATE_ONLY)
            settings = Settings.from_env(env)
            namespaces.append(settings)
            create_topics(settings)
            produce(settings, codec, events, mixed)
            workers.append(start_worker(env, tmp_path / label))

            def settled(settings=settings):
                views = [
                    redis_queries.get_order(redis_client, settings.redis_prefix, i) for i in ids
                ]
                return all(v and v["version"] == 3 for v in views)

            eventually(settled, timeout=90, what=f"{label}: every order at version 3 in Redis")
            count_url = f"{settings.web_url}/analytics/count/"
            eventually(
                lambda url=count_url: (
                    ((get_json(url) or {}).get("rows") or [{}])[0].get("orders") == ORDERS
                ),
                timeout=60,
                what=f"{label}: every order in ClickHouse",
            )
            results[label] = read_models(settings, redis_client, ids)

        assert results["mixed"] == results["v2"]
        assert results["v2"]["analytics"]["funnel"], (
            "the comparison must not be between two empty models"
        )
        shipped = results["mixed"]["orders"]["order-001"]
        assert shipped["status"] == "shipped" and shipped["tracking_number"] == "TRK-1"

        [parked] = read_topic(namespaces[0], "orders.dead-letters", expect=1)
        headers = dict(parked.headers)
        assert headers[FINGERPRINT].decode() == UNKNOWN_FINGERPRINT.hex()
        assert b"unknown" in headers[REASON].lower()
    finally:
        for worker in workers:
            worker.stop()
        for settings in namespaces:
            delete_namespace_topics(settings)
            stale = list(redis_client.scan_iter(f"{settings.redis_prefix}*", count=1000))
            if stale:
                redis_client.delete(*stale)


def orderflow_json(env: dict, *args: str) -> dict:
    done = orderflow(env, *args, "--json", timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_mixed_log_replays_like_an_all_v2_log(tmp_path, redis_client):
    codec = AvroCodec(SchemaStore.load())
    rng = random.Random(5)
    events = [e for n in range(ORDERS) for e in history(n, rng)]
    ids = sorted({e["order_id"] for e in events})
    results, namespaces = {}, []
    try:
        for label, mixed in (("mixed", True), ("v2", False)):
            # No worker: `orderflow replay --from earliest` builds both read models alone,
            # in a process of its own that owns this embedded ClickHouse directory.
            env = worker_env(tmp_path / label)
            settings = Settings.from_env(env)
            namespaces.append(settings)
            create_topics(settings)
            produce(settings, codec, events, mixed)
            summary = orderflow_json(env, "replay", "--from", "earliest", "--projection", "all")
            assert summary, "replay printed no summary"
            orders = {
                i: redis_queries.get_order(redis_client, settings.redis_prefix, i) for i in ids
            }
            analytics = {
                name: orderflow_json(env, "analytics", name)
                for name in ("funnel", "top-skus", "cancellations")
            }
            results[label] = {"orders": orders, "analytics": analytics}
        assert all(results["v2"]["orders"].values()), "every order must be in the v2 model"
        assert results["mixed"] == results["v2"]
    finally:
        for settings in namespaces:
            delete_namespace_topics(settings)
            stale = list(redis_client.scan_iter(f"{settings.redis_prefix}*", count=1000))
            if stale:
                redis_client.delete(*stale)
