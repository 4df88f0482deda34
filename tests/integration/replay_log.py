"""An event log produced at known timestamps, and the read models a live worker would
have built from it, for the replay tests."""

from __future__ import annotations

import random

from kafka import KafkaProducer

from processors.projections.position import SourceEvent
from sinks import clickhouse_queries
from sinks.clickhouse_sink import ClickHouseSink
from sinks.redis_keys import generation_prefix, read_generation
from sinks.redis_sink import RedisSink
from streams.adapters.codec import AvroCodec
from streams.adapters.kafka_clients import kafka_python_config
from streams.adapters.schema_store import SchemaStore
from streams.config.settings import Settings
from streams.messages import Message
from streams.runtime.projections.writes import feed
from tests.integration.conftest import START_MS, order_history

TOPIC = "orders.events"


def produce_log(settings: Settings, seed: int = 11, orders: int = 80) -> list[SourceEvent]:
    """Random order histories over three days, sent in time order with each record's
    timestamp set to its ``occurred_at``; returns them with their real positions."""
    rng = random.Random(seed)
    bodies = []
    for n in range(orders):
        start = START_MS + rng.randint(0, 3 * 86_400_000)
        bodies += order_history(rng, f"o{seed}-{n}", f"u{rng.randint(1, 6)}", start)
    bodies.sort(key=lambda e: (e["body"]["occurred_at"], e["body"]["event_id"]))
    codec = AvroCodec(SchemaStore.load())
    topic = settings.topic(TOPIC)
    producer = KafkaProducer(**kafka_python_config(settings), acks="all")
    try:
        futures = []
        for e in bodies:
            value = codec.encode(Message(e["name"], e["body"]))
            key = e["body"]["order_id"].encode()
            sent = producer.send(topic, key=key, value=value, timestamp_ms=e["body"]["occurred_at"])
            # As a consumer will see it: decoded, defaults of newer fields filled in.
            futures.append((codec.decode(value), sent))
        producer.flush()
        out = []
        for message, future in futures:
            meta = future.get(timeout=30)
            out.append(SourceEvent(message, topic, meta.partition, meta.offset, meta.timestamp))
        return out
    finally:
        producer.close()


def project_live(events: list[SourceEvent], *sinks, batch: int = 50) -> None:
    """What a live worker does: small batches through the one projection code."""
    by_partition = sorted(events, key=lambda e: (e.partition, e.offset))
    for sink in sinks:
        for start in range(0, len(by_partition), batch):
            feed(sink, by_partition[start : start + batch])


def redis_state(client, prefix: str) -> dict:
    """Every key of the live generation, named relative to it, with its content."""
    gp = generation_prefix(prefix, read_generation(client, prefix))
    state = {}
    for pattern in (f"{gp}order:*", f"{gp}user_orders:*", f"{gp}order_status_counts"):
        for key in client.scan_iter(match=pattern, count=1000):
            name = key.decode()[len(gp) :]
            if name == "order_status_counts":  # a status no order is in may read 0 or be absent
                state[name] = {k: v for k, v in client.hgetall(key).items() if v != b"0"}
            elif client.type(key) == b"hash":
                state[name] = client.hgetall(key)
            else:
                state[name] = client.zrange(key, 0, -1, withscores=True)
    return state


def clickhouse_state(client, db: str) -> tuple:
    """What the ClickHouse readers can see of the model."""
    q = clickhouse_queries
    return (
        client.query(f"SELECT * FROM `{db}`.orders_current ORDER BY order_id").result_rows,
        client.query(
            f"SELECT * EXCEPT (kafka_topic, kafka_partition, kafka_offset) "
            f"FROM `{db}`.order_events FINAL ORDER BY order_id, version"
        ).result_rows,
        q.daily_stats(client, db),
        q.count_events(client, db),
        q.cancellation_reasons(client, db),
    )


def redis_sink(client, prefix: str) -> RedisSink:
    return RedisSink(client, prefix)


def clickhouse_sink(client, db: str) -> ClickHouseSink:
    return ClickHouseSink(client, db)
