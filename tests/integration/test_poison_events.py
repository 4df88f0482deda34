"""Poison never stops the line: events already in the log that a store refuses, mixed
into a valid stream on the same partitions, go to the dead-letter topic with the store's
reason, once, while every valid order reaches Redis and ClickHouse.

The poison is written straight to ``orders.events`` (past ``decide``, as an older
version, another producer or a bug would): an ``OrderCreated`` whose quantity exceeds
ClickHouse's ``UInt32``, one with a negative quantity (``UInt32`` again), and one whose
user's order list in Redis is a string (``WRONGTYPE``), which ClickHouse stores.
"""

from __future__ import annotations

import pytest
import redis
from kafka import KafkaConsumer, TopicPartition

from bench.event_log import order_events, produce_events
from processors.orders.handling import UNWRITABLE
from sinks import redis_queries
from sinks.redis_keys import generation_prefix, read_generation, user_orders_key
from streams.adapters.admin import KafkaUnavailable, create_topics, delete_namespace_topics
from streams.adapters.client import CommandClient, new_command
from streams.adapters.codec import AvroCodec
from streams.adapters.kafka_clients import kafka_python_config
from streams.adapters.schema_store import SchemaStore
from streams.config.settings import Settings
from streams.messages import Message
from streams.ops.lag import consumer_lag
from streams.ops.readside import read_analytics
from streams.runtime.deadletter import REASON, SOURCE_OFFSET, SOURCE_PARTITION, SOURCE_TOPIC
from tests.support import eventually, read_topic, start_worker, worker_env

pytestmark = pytest.mark.integration

TOO_MANY = 2**32  # one more than UInt32 holds
POISON = {
    "o-poison-quantity": {"quantity": TOO_MANY, "store": "ClickHouse"},
    "o-poison-negative": {"quantity": -3, "store": "ClickHouse"},
    "o-poison-wrongtype": {"quantity": 1, "store": "Redis"},
}


def poison_created(order_id: str, quantity: int, at: int) -> Message:
    user = "user-wrongtype" if order_id == "o-poison-wrongtype" else "user-poison"
    items = [{"sku": "SKU-1", "quantity": quantity, "unit_price_cents": 100}]
    return Message(
        "OrderCreated",
        {
            "event_id": f"{order_id}-v1",
            "order_id": order_id,
            "version": 1,
            "occurred_at": at,
            "correlation_id": f"corr-{order_id}",
            "causation_id": f"cmd-{order_id}",
            "user_id": user,
            "items": items,
            "currency": "EUR",
            "total_cents": quantity * 100,
        },
    )


def caught_up(settings: Settings, group: str) -> bool:
    topic = settings.topic("orders.events")
    try:
        lag = consumer_lag(settings, group)
    except KafkaUnavailable:  # the group's coordinator is still being elected
        return False
    parts = [p for p in lag if p.topic == topic]
    return bool(parts) and all(p.lag == 0 for p in parts)


def dead_letters(settings: Settings) -> list[dict]:
    records = read_topic(settings, "orders.dead-letters", expect=len(POISON), timeout=10)
    out = []
    for record in records:
        headers = {k: v.decode() for k, v in record.headers}
        out.append({"key": record.key.decode(), "offset": record.offset, **headers})
    return out


def valid_orders_everywhere(settings: Settings, store: redis.Redis, order_ids: set[str]):
    in_redis = set(redis_queries.all_orders(store, settings.redis_prefix))
    in_clickhouse = {row["order_id"] for row in read_analytics(settings, "order-summaries")}
    return order_ids <= in_redis and order_ids <= in_clickhouse and (in_redis, in_clickhouse)


@pytest.fixture
def stack(tmp_path):
    env = worker_env(tmp_path, ORDERFLOW_AGENTS="projections")
    settings = Settings.from_env(env)
    create_topics(settings)
    store = redis.Redis.from_url(settings.redis_url)
    try:
        yield env, settings, store
    finally:
        store.delete(*store.keys(f"{settings.redis_prefix}*") or ["-"])
        delete_namespace_topics(settings)


def test_poison_events_are_dead_lettered_once_and_every_valid_order_is_stored(stack, tmp_path):
    env, settings, store = stack
    codec = AvroCodec(SchemaStore.load())
    group = settings.worker_app_id
    valid = order_events(40, seed=13)
    middle = len(valid) // 2
    at = valid[middle]["occurred_at"]
    poison = [poison_created(order_id, p["quantity"], at) for order_id, p in POISON.items()]
    # The Redis poison: its user's order list already holds a string, no sorted set.
    live = generation_prefix(settings.redis_prefix, read_generation(store, settings.redis_prefix))
    store.set(user_orders_key(live, "user-wrongtype"), "not a list of orders")
    # Poison between valid events: each partition holds valid events before and after it.
    produce_events(settings, codec, [*valid[:middle], *poison, *valid[middle:]])
    valid_ids = {m["order_id"] for m in valid}

    worker = start_worker(env, tmp_path)
    try:
        eventually(lambda: caught_up(settings, group), timeout=120, what="the projection past all")
        in_redis, in_clickhouse = eventually(
            lambda: valid_orders_everywhere(settings, store, valid_ids),
            timeout=60,
            what="every valid order in Redis and ClickHouse",
        )
        parked = eventually(
            lambda: (found := dead_letters(settings)) and len(found) >= len(POISON) and found,
            timeout=30,
            what="the dead letters",
        )
    finally:
        worker.stop()

    assert sorted(d["key"] for d in parked) == sorted(POISON)
    for letter in parked:
        expected = POISON[letter["key"]]
        assert letter[REASON].startswith(f"{expected['store']} refused it: "), letter
        assert letter[SOURCE_TOPIC] == settings.topic("orders.events")
        source = (int(letter[SOURCE_PARTITION]), int(letter[SOURCE_OFFSET]))
        record = read_at(settings, *source)
        assert record.key.decode() == letter["key"]  # the header names the poison's place
    quantity_reason = next(d[REASON] for d in parked if d["key"] == "o-poison-quantity")
    assert "item_quantities" in quantity_reason and "4294967295" in quantity_reason
    # Each store holds what it could: ClickHouse the Redis poison, Redis the ClickHouse one.
    assert "o-poison-wrongtype" in in_clickhouse and "o-poison-wrongtype" not in in_redis
    assert {"o-poison-quantity", "o-poison-negative"} <= in_redis
    assert not {"o-poison-quantity", "o-poison-negative"} & in_clickhouse

    # A restart neither parks them again nor re-reads past the committed position.
    more = order_events(5, seed=14)
    produce_events(settings, codec, more)
    worker = start_worker(env, tmp_path, name="worker-again")
    try:
        more_ids = {m["order_id"] for m in more}
        eventually(
            lambda: valid_orders_everywhere(settings, store, more_ids),
            timeout=60,
            what="the orders sent after the restart",
        )
        eventually(lambda: caught_up(settings, group), timeout=60, what="caught up again")
    finally:
        worker.stop()
    assert len(dead_letters(settings)) == len(POISON)


def read_at(settings: Settings, partition: int, offset: int):
    """The record of ``orders.events`` at ``partition``/``offset``."""
    consumer = KafkaConsumer(**kafka_python_config(settings))
    try:
        tp = TopicPartition(settings.topic("orders.events"), partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        records = consumer.poll(timeout_ms=5000, max_records=1).get(tp, [])
        return records[0]
    finally:
        consumer.close()


def test_a_command_whose_outcome_cannot_be_encoded_is_rejected_with_the_reason(tmp_path):
    """A total beyond the Avro ``long`` (2^62 units at 4 cents) used to raise inside the
    aggregate: no result, no dead letter. It is rejected with a reason now, and the next
    command is handled as usual. (Once ``decide`` checks totals, it rejects this command
    at the door with its own reason; the reason code tells which line caught it.)"""
    env = worker_env(tmp_path, ORDERFLOW_AGENTS="orders")
    settings = Settings.from_env(env)
    create_topics(settings)
    worker = start_worker(env, tmp_path)
    client = CommandClient(settings, AvroCodec(SchemaStore.load()))
    client.start_listening()
    try:
        huge = [{"sku": "SKU-1", "quantity": 2**62, "unit_price_cents": 4}]
        fine = [{"sku": "SKU-1", "quantity": 2, "unit_price_cents": 1250}]
        overflow = new_command("CreateOrder", "o-huge", user_id="u1", items=huge, currency="EUR")
        after = new_command("CreateOrder", "o-fine", user_id="u1", items=fine, currency="EUR")
        client.send(overflow)
        client.send(after)
        client.flush()
        results = client.wait_for_results([overflow["command_id"], after["command_id"]], 60)
    finally:
        client.close()
        worker.stop()
        delete_namespace_topics(settings)
    assert overflow["command_id"] in results, "no outcome: the command was dropped"
    rejected, accepted = results[overflow["command_id"]], results[after["command_id"]]
    assert rejected["status"] == "rejected" and rejected["reason"], rejected.body
    if rejected["reason_code"] == UNWRITABLE:
        assert "total_cents" in rejected["reason"], rejected.body
    assert accepted["status"] == "accepted", accepted.body
