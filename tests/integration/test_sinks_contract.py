"""One contract, every sink: idempotent under redelivery, never backwards, and the
reads agree with a count made directly from the events."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from processors.projections.order_status import STATUS_AFTER, STATUSES
from processors.projections.position import SourceEvent
from processors.projections.project import project
from processors.projections.sink import Sink
from sinks import clickhouse_queries, redis_queries
from sinks.clickhouse_sink import ClickHouseSink
from sinks.redis_sink import RedisSink

pytestmark = pytest.mark.integration

BATCH = 50
COMPARED = ("status", "version", "user_id", "total_cents", "created_at", "updated_at")


@dataclass
class ReadModel:
    """What the contract needs from a sink: a fresh sink (as after a restart), the whole
    stored state, and the reads every model offers."""

    new_sink: Callable[[], Sink]
    state: Callable[[], Any]
    order: Callable[[str], dict | None]
    status_counts: Callable[[], dict[str, int]]


def _redis_model(client, prefix: str) -> ReadModel:
    def state():
        dump = {}
        for key in sorted(client.scan_iter(f"{prefix}*", count=1000)):
            kind = client.type(key)
            dump[key] = (
                client.hgetall(key)
                if kind == b"hash"
                else client.zrange(key, 0, -1, withscores=True)
            )
        return dump

    return ReadModel(
        new_sink=lambda: RedisSink(client, prefix),
        state=state,
        order=lambda order_id: redis_queries.get_order(client, prefix, order_id),
        status_counts=lambda: {
            k: v for k, v in redis_queries.status_counts(client, prefix).items() if v
        },
    )


def _clickhouse_model(client, db: str) -> ReadModel:
    def state():
        q = clickhouse_queries
        return (
            client.query(f"SELECT * FROM `{db}`.orders_current ORDER BY order_id").result_rows,
            q.daily_stats(client, db),
            q.count_events(client, db),
            q.top_skus(client, db, 100),
            q.cancellation_reasons(client, db),
        )

    return ReadModel(
        new_sink=lambda: ClickHouseSink(client, db),
        state=state,
        order=lambda order_id: clickhouse_queries.get_order(client, db, order_id),
        status_counts=lambda: {
            r["status"]: r["orders"] for r in clickhouse_queries.funnel(client, db)
        },
    )


@pytest.fixture(params=["redis", "clickhouse"])
def model(request, settings) -> ReadModel:
    if request.param == "redis":
        return _redis_model(request.getfixturevalue("redis_client"), settings.redis_prefix)
    return _clickhouse_model(
        request.getfixturevalue("clickhouse_client"), settings.clickhouse_database
    )


def batches(events: Sequence[SourceEvent], size: int = BATCH) -> list[Sequence[SourceEvent]]:
    return [events[i : i + size] for i in range(0, len(events), size)]


def feed(sink: Sink, events: Sequence[SourceEvent]) -> None:
    for batch in batches(events):
        project(batch, sink)
        sink.flush()


def latest(events: Sequence[SourceEvent]) -> dict[str, dict]:
    """Each order's expected read-model fields, folded directly from the events."""
    orders: dict[str, dict] = {}
    for event in events:
        body = event.body
        order = orders.setdefault(body["order_id"], {})
        order.update(
            status=STATUS_AFTER[event.name], version=body["version"], updated_at=body["occurred_at"]
        )
        if event.name == "OrderCreated":
            order.update(
                user_id=body["user_id"],
                total_cents=body["total_cents"],
                created_at=body["occurred_at"],
            )
    return orders


def test_projecting_the_same_events_twice_changes_nothing(model, events):
    feed(model.new_sink(), events)
    before = model.state()
    feed(model.new_sink(), events)
    assert model.state() == before


def test_a_batch_resent_after_a_crash_before_commit_changes_nothing(model, events):
    first, second, *rest = batches(events)
    sink = model.new_sink()
    project(first, sink)
    sink.flush()
    project(second, sink)
    sink.flush()  # written, then the worker dies before committing the offsets
    after_write = model.state()
    restarted = model.new_sink()
    project(second, restarted)  # the restarted worker is given the same batch again
    restarted.flush()
    assert model.state() == after_write


def test_redelivered_older_events_never_move_an_order_backwards(model, events):
    feed(model.new_sink(), events)
    before = model.state()
    older = [e for e in events if e.body["version"] < latest(events)[e.body["order_id"]]["version"]]
    assert older, "the history should hold orders with several events"
    sink = model.new_sink()
    for event in reversed(older):  # one by one, newest of them first
        project([event], sink)
        sink.flush()
    assert model.state() == before


def test_reads_return_what_the_events_say(model, events):
    feed(model.new_sink(), events)
    for order_id, expected in latest(events).items():
        stored = model.order(order_id)
        assert stored is not None, order_id
        assert {k: stored[k] for k in COMPARED} == expected, order_id
    assert model.order("no-such-order") is None


def test_status_counts_equal_a_count_of_the_events(model, events):
    feed(model.new_sink(), events)
    expected = Counter(order["status"] for order in latest(events).values())
    assert model.status_counts() == dict(expected)
    assert set(expected) <= set(STATUSES)
