"""Realistic order event logs, and writing them straight onto ``orders.events``.

Shared by the projection benchmark and the read-model tests: order lifecycles with a
plausible mix (most orders confirmed, shipped and delivered; some cancelled with a
reason; some still open), interleaved across orders in time order, each event encoded
with the Avro codec and keyed by order id as the aggregate writes it.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterable

from kafka import KafkaProducer

from streams.adapters.codec import AvroCodec
from streams.adapters.kafka_clients import kafka_python_config
from streams.config.settings import Settings
from streams.config.topics import ORDER_EVENTS
from streams.messages import Message

START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
DAY_MS = 86_400_000
SKUS = [f"SKU-{n:03d}" for n in range(1, 41)]
REASONS = ("out of stock", "changed my mind", "payment failed", "found it cheaper")


def _path(rng: random.Random) -> list[tuple[str, dict]]:
    path: list[tuple[str, dict]] = []
    for name in ("OrderConfirmed", "OrderShipped", "OrderDelivered"):
        roll = rng.random()
        if roll < 0.12 and name != "OrderDelivered":
            path.append(("OrderCancelled", {"reason": rng.choice(REASONS)}))
            break
        if roll < 0.2:
            break  # still open: waiting for the next step
        shipped = {"tracking_number": f"TRK-{rng.randrange(10**9)}"}
        path.append((name, shipped if name == "OrderShipped" else {}))
    return path


def order_lifecycle(rng: random.Random, order_id: str, user_id: str, at: int) -> list[Message]:
    """One order's events: OrderCreated, then a random legal path of the status machine."""
    items = [
        {
            "sku": rng.choice(SKUS),
            "quantity": rng.randint(1, 4),
            "unit_price_cents": rng.randint(199, 9999),
        }
        for _ in range(rng.randint(1, 3))
    ]
    created = {
        "user_id": user_id,
        "items": items,
        "currency": "EUR",
        "total_cents": sum(i["quantity"] * i["unit_price_cents"] for i in items),
    }
    messages = []
    for version, (name, payload) in enumerate([("OrderCreated", created), *_path(rng)], 1):
        body = {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128))),
            "order_id": order_id,
            "version": version,
            "occurred_at": at,
            "correlation_id": f"bench-{order_id}",
            "causation_id": str(uuid.UUID(int=rng.getrandbits(128))),
            **payload,
        }
        messages.append(Message(name, body))
        at += rng.randint(60_000, DAY_MS // 3)
    return messages


def order_events(orders: int, seed: int = 7, days: int = 5) -> list[Message]:
    """Events of ``orders`` orders over ``days`` UTC days, in time order (~3 per order)."""
    rng = random.Random(seed)
    events = []
    for n in range(orders):
        order_id = f"o-{seed}-{n:07d}"
        user = f"user-{rng.randint(1, max(2, orders // 8)):05d}"
        events += order_lifecycle(rng, order_id, user, START_MS + rng.randrange(days * DAY_MS))
    events.sort(key=lambda m: (m["occurred_at"], m["order_id"], m["version"]))
    return events


def produce_events(
    settings: Settings,
    codec: AvroCodec,
    messages: Iterable[Message],
    rate: float | None = None,
) -> int:
    """Send ``messages`` to ``orders.events`` keyed by order id; ``rate`` caps events/s."""
    producer = KafkaProducer(
        **kafka_python_config(settings),
        acks="all",
        linger_ms=10,
        batch_size=256 * 1024,
        max_in_flight_requests_per_connection=1,  # keeps each order's events in order
    )
    topic = settings.topic(ORDER_EVENTS.name)
    started, sent = time.monotonic(), 0
    try:
        for message in messages:
            producer.send(topic, key=message["order_id"].encode(), value=codec.encode(message))
            sent += 1
            if rate and sent % 50 == 0:
                ahead = sent / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)  # pacing the load, not synchronisation
        producer.flush()
    finally:
        producer.close(timeout=10)
    return sent
