"""Redis specifics: a user's orders newest first with paging, counters that stay exact,
and a server that forgot the script."""

from __future__ import annotations

import pytest
import redis

from processors.projections.project import project
from sinks import redis_queries as q
from sinks.redis_sink import RedisSink

pytestmark = pytest.mark.integration


def test_a_users_orders_come_newest_first_page_by_page(redis_client, settings, events):
    prefix = settings.redis_prefix
    sink = RedisSink(redis_client, prefix)
    project(events, sink)
    sink.flush()
    created = [e.body for e in events if e.name == "OrderCreated"]
    user = created[0]["user_id"]
    expected = [
        b["order_id"]
        for b in sorted(
            (b for b in created if b["user_id"] == user), key=lambda b: -b["occurred_at"]
        )
    ]
    assert q.count_user_orders(redis_client, prefix, user) == len(expected)
    limit = 4
    pages = []
    for page in range(1, len(expected) // limit + 2):
        rows = q.list_user_orders(redis_client, prefix, user, page, limit)
        assert len(rows) <= limit
        pages += [r["order_id"] for r in rows]
    assert pages == expected
    assert q.list_user_orders(redis_client, prefix, "nobody") == []
    with pytest.raises(ValueError):
        q.list_user_orders(redis_client, prefix, user, 0, limit)


def test_counters_add_up_to_the_orders(redis_client, settings, events):
    prefix = settings.redis_prefix
    sink = RedisSink(redis_client, prefix)
    project(events, sink)
    sink.flush()
    counts = q.status_counts(redis_client, prefix)
    assert min(counts.values()) >= 0
    assert q.count_orders(redis_client, prefix) == len({e.body["order_id"] for e in events})


def test_flush_reloads_a_script_the_server_forgot(redis_client, settings, events):
    sink = RedisSink(redis_client, settings.redis_prefix)
    redis_client.script_flush()
    project(events[:10], sink)
    assert sink.flush() == 10
    # One merged update per order (``coalesce``), every one of them applied.
    assert sink.applied == len({e.body["order_id"] for e in events[:10]}) > 0


def test_reads_work_with_a_decoding_client(redis_client, settings, events):
    sink = RedisSink(redis_client, settings.redis_prefix)
    project(events, sink)
    sink.flush()
    text_client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    order_id = events[0].body["order_id"]
    order = q.get_order(text_client, settings.redis_prefix, order_id)
    assert order == q.get_order(redis_client, settings.redis_prefix, order_id)
    assert isinstance(order["items"], list) and order["version"] >= 1
