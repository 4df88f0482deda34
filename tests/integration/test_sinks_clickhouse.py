"""ClickHouse specifics: the server drops a re-sent batch (insert deduplication token),
the analytics equal a count made from the events, and one process owns embedded chdb."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections import Counter, defaultdict

import pytest

from processors.projections.position import SourceEvent
from processors.projections.project import project
from sinks import clickhouse_queries as q
from sinks.clickhouse_client import connect_clickhouse, read_owner
from sinks.clickhouse_sink import ClickHouseSink
from streams.messages import Message

pytestmark = pytest.mark.integration

RAW_TABLES = ("order_events", "orders", "daily_order_stats")


def raw_counts(client, db: str) -> dict[str, int]:
    """Stored rows without FINAL: what the server actually kept."""
    return {t: int(client.command(f"SELECT count() FROM `{db}`.{t}")) for t in RAW_TABLES}


def stop_merges(client, db: str) -> None:
    """Background merges collapse duplicates in the replacing tables on their own time;
    stopped, the raw counts show what the inserts themselves did."""
    for table in RAW_TABLES:
        client.command(f"SYSTEM STOP MERGES `{db}`.{table}")


def flush_in_batches(sink: ClickHouseSink, events, size: int = 50) -> None:
    for i in range(0, len(events), size):
        project(events[i : i + size], sink)
        sink.flush()


def test_the_server_drops_a_batch_flushed_again(clickhouse_client, settings, events):
    db = settings.clickhouse_database
    sink = ClickHouseSink(clickhouse_client, db)
    stop_merges(clickhouse_client, db)
    flush_in_batches(sink, events)
    stored = raw_counts(clickhouse_client, db)
    assert stored["order_events"] == len(events)
    flush_in_batches(ClickHouseSink(clickhouse_client, db), events)  # a restart re-sends all
    assert raw_counts(clickhouse_client, db) == stored


def test_an_event_redelivered_in_another_batch_is_counted_once(clickhouse_client, settings, events):
    db = settings.clickhouse_database
    sink = ClickHouseSink(clickhouse_client, db)
    stop_merges(clickhouse_client, db)
    flush_in_batches(sink, events)
    before = (q.daily_stats(clickhouse_client, db), q.funnel(clickhouse_client, db))
    flush_in_batches(ClickHouseSink(clickhouse_client, db), events, size=37)  # other tokens
    assert raw_counts(clickhouse_client, db)["order_events"] > len(events)
    assert (q.daily_stats(clickhouse_client, db), q.funnel(clickhouse_client, db)) == before
    assert q.count_events(clickhouse_client, db) == [{"events": len(events)}]


def test_analytics_equal_a_count_of_the_events(clickhouse_client, settings, events):
    db = settings.clickhouse_database
    flush_in_batches(ClickHouseSink(clickhouse_client, db), events)
    daily: dict[str, Counter] = defaultdict(Counter)
    units, reasons = Counter(), Counter()
    for e in events:
        day = dt.datetime.fromtimestamp(e.body["occurred_at"] / 1000, dt.UTC).date().isoformat()
        if e.name == "OrderCreated":
            daily[day].update(orders=1, revenue_cents=e.body["total_cents"])
            for item in e.body["items"]:
                units[item["sku"]] += item["quantity"]
        elif e.name == "OrderCancelled":
            daily[day].update(cancellations=1)
            reasons[e.body["reason"]] += 1
    expected_daily = [
        {
            "day": d,
            "orders": c["orders"],
            "revenue_cents": c["revenue_cents"],
            "cancellations": c["cancellations"],
        }
        for d, c in sorted(daily.items())
    ]
    assert q.daily_stats(clickhouse_client, db) == expected_daily
    first_day = dt.date.fromisoformat(expected_daily[0]["day"])
    assert q.daily_stats(clickhouse_client, db, first_day, first_day) == expected_daily[:1]
    assert {r["sku"]: r["units"] for r in q.top_skus(clickhouse_client, db, 100)} == dict(units)
    assert [r["sku"] for r in q.top_skus(clickhouse_client, db, 2)] == [
        s for s, _ in sorted(units.items(), key=lambda kv: (-kv[1], kv[0]))[:2]
    ]
    assert {
        r["reason"]: r["cancellations"] for r in q.cancellation_reasons(clickhouse_client, db)
    } == dict(reasons)
    orders = {e.body["order_id"] for e in events}
    assert q.count_orders(clickhouse_client, db) == [{"orders": len(orders)}]
    one = events[0].body
    assert q.count_orders(clickhouse_client, db, correlation_id=one["correlation_id"]) == [
        {"orders": 1}
    ]


def test_values_are_parameters_not_sql(clickhouse_client, settings):
    db = settings.clickhouse_database
    tricky = "o'); DROP TABLE order_events; --"
    body = {
        "event_id": "e1",
        "order_id": tricky,
        "version": 1,
        "occurred_at": 1_767_225_600_000,
        "correlation_id": "c",
        "causation_id": "x",
        "user_id": "u'1",
        "items": [{"sku": "S'1", "quantity": 1, "unit_price_cents": 5}],
        "currency": "EUR",
        "total_cents": 5,
    }
    sink = ClickHouseSink(clickhouse_client, db)
    project([SourceEvent(Message("OrderCreated", body), "orders.events", 0, 0, 0)], sink)
    sink.flush()
    order = q.get_order(clickhouse_client, db, tricky)
    assert order["user_id"] == "u'1" and order["status"] == "pending"
    assert q.top_skus(clickhouse_client, db)[0]["sku"] == "S'1"


@pytest.mark.skipif(
    os.environ.get("CLICKHOUSE_URL", "").startswith("http"), reason="embedded chdb only"
)
def test_a_second_process_is_told_who_owns_embedded_clickhouse(clickhouse_client, settings):
    assert read_owner(settings)["pid"] == os.getpid()
    assert connect_clickhouse(settings) is clickhouse_client  # re-entrant in the owner
    probe = (
        "import json, sys\n"
        "from sinks.clickhouse_client import ClickHouseBusy, connect_clickhouse, read_owner\n"
        "from streams.config.settings import Settings\n"
        "s = Settings.from_env()\n"
        "try:\n    connect_clickhouse(s)\nexcept ClickHouseBusy as e:\n"
        "    print(json.dumps({'pid': e.owner_pid, 'message': str(e), 'read': read_owner(s)}))\n"
    )
    env = {**os.environ, "CLICKHOUSE_URL": settings.clickhouse_url}
    out = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    told = json.loads(out.stdout)
    assert told["pid"] == os.getpid() == told["read"]["pid"]
    assert str(os.getpid()) in told["message"]


def test_a_resent_batch_is_recognised_by_its_offsets_not_its_bytes(
    clickhouse_client, settings, events
):
    """After a restart the same offsets may decode to other bytes (say a newer reader
    schema fills a default); the token, named by the offset range, still drops them."""
    db = settings.clickhouse_database
    sink = ClickHouseSink(clickhouse_client, db)
    stop_merges(clickhouse_client, db)
    batch = events[:50]
    project(batch, sink)
    sink.flush()
    stored = raw_counts(clickhouse_client, db)
    redecoded = [
        SourceEvent(
            Message(e.name, {**e.body, "note": "new default"}),
            e.topic,
            e.partition,
            e.offset,
            e.timestamp_ms,
        )
        for e in batch
    ]
    project(redecoded, sink)
    sink.flush()
    assert raw_counts(clickhouse_client, db) == stored


def test_analytics_on_a_half_created_read_model_answer_not_yet(clickhouse_client, settings):
    """Between ``CREATE DATABASE`` and its tables a query fails with UNKNOWN_TABLE: the
    HTTP view must say "not there yet" (503), not fail with a traceback (seen in the
    pipeline bench's first seconds)."""
    from sinks.clickhouse_schema import ensure_schema, schema_complete
    from streams.bootstrap import bootstrap
    from streams.web.queries import read_model_answer

    database = settings.clickhouse_database
    clickhouse_client.command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    clients = bootstrap(settings)
    clients.__dict__["clickhouse"] = clickhouse_client  # the test's connection (chdb: one)
    assert not schema_complete(clickhouse_client, database)
    assert read_model_answer(clients, database, "count", {}) is None
    ensure_schema(clickhouse_client, database)
    assert schema_complete(clickhouse_client, database)
    assert read_model_answer(clients, database, "count", {})["rows"] == [{"orders": 0}]
