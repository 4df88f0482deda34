"""Clients for the read-model stores, and order histories to project into them.

Redis is the server at REDIS_URL; ClickHouse is the session's embedded chdb directory
(owned by this test process) unless CLICKHOUSE_URL names a server. Each test gets its
own key prefix and database from the ``settings`` fixture, removed afterwards.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator

import pytest
import redis

from processors.projections.position import SourceEvent
from sinks.clickhouse_client import connect_clickhouse
from sinks.clickhouse_schema import drop_schema
from streams.config.settings import Settings
from streams.messages import Message

TOPIC = "orders.events"
PARTITIONS = 3
DAY_MS = 86_400_000
START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


@pytest.fixture
def redis_client(settings: Settings) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.redis_url)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.fail(f"Redis at {settings.redis_url} is not reachable ({exc}); set REDIS_URL")
    yield client
    keys = list(client.scan_iter(f"{settings.redis_prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def clickhouse_client(settings: Settings):
    client = connect_clickhouse(settings)
    yield client
    drop_schema(client, settings.clickhouse_database)


def order_history(rng: random.Random, order_id: str, user_id: str, start_ms: int) -> list[dict]:
    """Bodies of one order's events along a random legal path of the status machine."""
    items = [
        {
            "sku": f"SKU-{rng.randint(1, 8)}",
            "quantity": rng.randint(1, 3),
            "unit_price_cents": rng.choice((250, 999, 1500)),
        }
        for _ in range(rng.randint(1, 3))
    ]
    envelope = {"order_id": order_id, "correlation_id": f"corr-{order_id}"}
    created = {
        "user_id": user_id,
        "items": items,
        "currency": "EUR",
        "total_cents": sum(i["quantity"] * i["unit_price_cents"] for i in items),
    }
    path = [("OrderCreated", created)]
    for name in ("OrderConfirmed", "OrderShipped", "OrderDelivered"):
        roll = rng.random()
        if roll < 0.2 and name != "OrderDelivered":
            path.append(
                (
                    "OrderCancelled",
                    {"reason": rng.choice(("out of stock", "changed mind", "payment failed"))},
                )
            )
            break
        if roll < 0.35:
            break
        path.append(
            (name, {"tracking_number": f"TRK-{order_id}"} if name == "OrderShipped" else {})
        )
    bodies, at = [], start_ms
    for version, (name, payload) in enumerate(path, start=1):
        body = {
            **envelope,
            "event_id": f"{order_id}-v{version}",
            "version": version,
            "occurred_at": at,
            "causation_id": f"cmd-{order_id}-{version}",
            **payload,
        }
        bodies.append({"name": name, "body": body})
        at += rng.randint(60_000, DAY_MS // 2)
    return bodies


def positioned_log(seed: int, orders: int = 120, users: int = 7) -> list[SourceEvent]:
    """A log of random order histories over three days, as a consumer reads it: events
    in time order, each order in one partition, offsets counting per partition."""
    rng = random.Random(seed)
    events = []
    for n in range(orders):
        order_id = f"order-{seed}-{n}"
        start = START_MS + rng.randint(0, 3 * DAY_MS)
        events += order_history(rng, order_id, f"user-{rng.randint(1, users)}", start)
    events.sort(key=lambda e: (e["body"]["occurred_at"], e["body"]["event_id"]))
    next_offset = [0] * PARTITIONS
    log = []
    for e in events:
        partition = zlib.crc32(e["body"]["order_id"].encode()) % PARTITIONS
        offset = next_offset[partition]
        next_offset[partition] += 1
        log.append(
            SourceEvent(
                Message(e["name"], e["body"]), TOPIC, partition, offset, e["body"]["occurred_at"]
            )
        )
    return log


@pytest.fixture
def events() -> list[SourceEvent]:
    return positioned_log(seed=7)
