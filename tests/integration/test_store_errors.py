"""Data error or outage (``sinks.errors``), decided on the errors the real clients raise:
a value the store can never hold is a data error (its event is parked); a store that is
unreachable, full or missing a table is an outage (retried, never parked).

Only the classification is tested here; a Redis stopped for a while under a running
worker is covered by the end-to-end tests.
"""

from __future__ import annotations

import clickhouse_connect
import pytest
import redis

from processors.projections.position import SourceEvent
from sinks import redis_queries
from sinks.clickhouse_sink import ClickHouseSink
from sinks.errors import is_data_error
from sinks.redis_keys import generation_prefix, user_orders_key
from sinks.redis_sink import RedisSink
from streams.messages import Message
from streams.runtime.projections.poison import write_isolating
from streams.runtime.projections.writes import feed
from tests.support import free_port

pytestmark = pytest.mark.integration


def raised(action) -> BaseException:
    try:
        action()
    except Exception as exc:  # the instance under test
        return exc
    raise AssertionError("expected an error")


def created(order_id: str, quantity: int, user_id: str = "u1") -> SourceEvent:
    body = {
        "event_id": f"{order_id}-v1",
        "order_id": order_id,
        "version": 1,
        "occurred_at": 1_767_225_600_000,
        "correlation_id": "c",
        "causation_id": "c",
        "user_id": user_id,
        "items": [{"sku": "S", "quantity": quantity, "unit_price_cents": 1}],
        "currency": "EUR",
        "total_cents": quantity,
    }
    return SourceEvent(Message("OrderCreated", body), "orders.events", 0, 0, 0)


def test_values_clickhouse_cannot_hold_are_data_errors(clickhouse_client, settings):
    sink = ClickHouseSink(clickhouse_client, settings.clickhouse_database)
    too_many = raised(lambda: feed(sink, [created("o1", 2**32)]))
    sink.discard()
    negative = raised(lambda: feed(sink, [created("o2", -1)]))
    server_side = raised(lambda: clickhouse_client.command("SELECT accurateCast(-1, 'UInt32')"))
    assert is_data_error(too_many) and is_data_error(negative), (too_many, negative)
    assert is_data_error(server_side), server_side


def test_clickhouse_outages_are_not_data_errors(clickhouse_client):
    refused = raised(lambda: clickhouse_connect.get_client(dsn=f"http://127.0.0.1:{free_port()}"))
    missing = raised(lambda: clickhouse_client.command("INSERT INTO nowhere.nothing VALUES (1)"))
    assert not is_data_error(refused), refused
    assert not is_data_error(missing), missing  # a dropped table is not any row's fault


def test_a_redis_key_of_the_wrong_kind_is_a_data_error(redis_client, settings):
    live = generation_prefix(settings.redis_prefix, 0)
    redis_client.set(user_orders_key(live, "u-bad"), "a string")
    sink = RedisSink(redis_client, settings.redis_prefix)
    wrong_kind = raised(lambda: feed(sink, [created("o3", 1, user_id="u-bad")]))
    assert is_data_error(wrong_kind), wrong_kind


def test_redis_outages_are_not_data_errors(redis_client, settings):
    down = redis.Redis(port=free_port(), socket_connect_timeout=1)
    assert not is_data_error(raised(down.ping))
    slow = redis.Redis.from_url(settings.redis_url, socket_timeout=0.05)
    assert not is_data_error(raised(lambda: slow.blpop([f"{settings.redis_prefix}none"], 1)))
    # A full server answers writes with OOM: not the value's fault.
    before = redis_client.config_get("maxmemory")["maxmemory"]
    redis_client.config_set("maxmemory", 1)
    try:
        sink = RedisSink(redis_client, settings.redis_prefix)
        full = raised(lambda: feed(sink, [created("o4", 1)]))
    finally:
        redis_client.config_set("maxmemory", before)
    assert not is_data_error(full), full


def test_a_mapping_that_cannot_read_the_event_is_a_data_error(settings, redis_client):
    sink = RedisSink(redis_client, settings.redis_prefix)
    broken = SourceEvent(Message("OrderCreated", {"order_id": "o5"}), "t", 0, 0, 0)
    assert is_data_error(raised(lambda: feed(sink, [broken])))


def test_a_refused_redis_chunk_writes_nothing_so_the_status_counts_stay_right(
    redis_client, settings
):
    """The script checks every key's kind before it writes: a refused chunk leaves no
    half-applied update whose counter move a retry (as a no-op) would never make."""
    live = generation_prefix(settings.redis_prefix, 0)
    redis_client.set(user_orders_key(live, "u-bad"), "a string")
    sink = RedisSink(redis_client, settings.redis_prefix)
    events = [created("o-good", 1), created("o-bad", 1, user_id="u-bad")]
    _, refused = write_isolating(sink, events, feed)
    assert [r.event.body["order_id"] for r in refused] == ["o-bad"]
    counts = redis_queries.status_counts(redis_client, settings.redis_prefix)
    assert {status: n for status, n in counts.items() if n} == {"pending": 1}
