"""The query CLI over real Redis and ClickHouse: ``orders get|list`` and ``analytics``,
their JSON shapes, figures equal to a count made directly from the log, and bad input.

The read models are filled with the projection code (``feed``); the CLI runs in this
process, which owns the session's embedded ClickHouse, so ``readside`` opens it directly.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from collections.abc import Iterable

import pytest
from click.testing import CliRunner

from processors.projections.order_status import STATUS_AFTER
from sinks.clickhouse_sink import ClickHouseSink
from sinks.redis_sink import RedisSink
from streams.cli import main
from streams.messages import Message
from streams.runtime.projections.writes import feed

pytestmark = pytest.mark.integration


def figures_from_log(messages: Iterable[Message]) -> dict[str, object]:
    """The four analytics counted straight from distinct events (by event id, so a
    redelivered copy counts once), without any read-model code."""
    seen: set[str] = set()
    daily: dict[str, Counter] = defaultdict(Counter)
    last: dict[str, Message] = {}
    skus: dict[str, Counter] = defaultdict(Counter)
    sku_orders: dict[str, set] = defaultdict(set)
    reasons: Counter = Counter()
    for m in messages:
        if m["event_id"] in seen:
            continue
        seen.add(m["event_id"])
        day = dt.datetime.fromtimestamp(m["occurred_at"] / 1000, dt.UTC).date().isoformat()
        if m.get("version", 0) > last.get(m["order_id"], Message("", {"version": 0}))["version"]:
            last[m["order_id"]] = m
        if m.name == "OrderCreated":
            daily[day].update(orders=1, revenue_cents=m["total_cents"])
            for item in m["items"]:
                skus[item["sku"]].update(
                    units=item["quantity"],
                    revenue_cents=item["quantity"] * item["unit_price_cents"],
                )
                sku_orders[item["sku"]].add(m["order_id"])
        elif m.name == "OrderCancelled":
            daily[day].update(cancellations=1)
            reasons[m["reason"]] += 1
    top = sorted(skus, key=lambda s: (-skus[s]["units"], s))
    return {
        "daily": [
            {"day": d, "orders": c["orders"], "revenue_cents": c["revenue_cents"],
             "cancellations": c["cancellations"]}
            for d, c in sorted(daily.items())
        ],
        "funnel": dict(Counter(STATUS_AFTER[m.name] for m in last.values())),
        "top-skus": [
            {"sku": s, "units": skus[s]["units"], "revenue_cents": skus[s]["revenue_cents"],
             "orders": len(sku_orders[s])}
            for s in top
        ],
        "cancellations": dict(reasons),
    }  # fmt: skip


def as_compared(name: str, rows: list[dict]) -> object:
    """Analytics rows in the shape ``figures_from_log`` gives (order-free where ties are)."""
    if name == "funnel":
        return {r["status"]: r["orders"] for r in rows}
    if name == "cancellations":
        return {r["reason"]: r["cancellations"] for r in rows}
    return rows


@pytest.fixture
def run(settings):
    main._register()
    env = {
        "ORDERFLOW_NAMESPACE": settings.namespace,
        "CLICKHOUSE_URL": settings.clickhouse_url,
        "ORDERFLOW_DATA_DIR": str(settings.data_dir),
    }

    def invoke(*args: str):
        return CliRunner().invoke(main.cli, list(args), env=env, catch_exceptions=False)

    return invoke


@pytest.fixture
def projected(settings, events, redis_client, clickhouse_client):
    feed(RedisSink(redis_client, settings.redis_prefix), events)
    feed(ClickHouseSink(clickhouse_client, settings.clickhouse_database), events)
    return events


def test_orders_get_and_list_json_shapes(run, projected):
    first = projected[0].message
    result = run("orders", "get", first["order_id"], "--json")
    assert result.exit_code == 0, result.output
    order = json.loads(result.stdout)
    assert order["order_id"] == first["order_id"]
    assert order["user_id"] == first["user_id"]
    assert {"status", "version", "total_cents", "items", "created_at"} <= set(order)

    user = first["user_id"]
    mine = {e.message["order_id"] for e in projected if e.message.get("user_id") == user}
    page1 = json.loads(run("orders", "list", "--user", user, "--limit", "2", "--json").stdout)
    assert page1["total"] == len(mine) and page1["page"] == 1 and page1["limit"] == 2
    assert len(page1["orders"]) == 2
    created = [o["created_at"] for o in page1["orders"]]
    assert created == sorted(created, reverse=True), "newest first"
    pages = [
        json.loads(run("orders", "list", "--user", user, "--page", str(p), "--json").stdout)
        for p in (1, 2)
    ]
    assert {o["order_id"] for o in pages[0]["orders"]} == mine
    assert pages[1]["orders"] == []


@pytest.mark.parametrize("name", ["daily", "funnel", "top-skus", "cancellations"])
def test_analytics_equal_a_count_made_directly_from_the_log(run, projected, name):
    args = ["analytics", name, "--json"] + (["--limit", "1000"] if name == "top-skus" else [])
    result = run(*args)
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["analytics"] == name
    assert body["rows"], "the report is empty"
    assert as_compared(name, body["rows"]) == figures_from_log(e.message for e in projected)[name]


def test_daily_bounds_are_inclusive(run, projected):
    days = [r["day"] for r in figures_from_log(e.message for e in projected)["daily"]]
    result = run("analytics", "daily", "--from", days[1], "--to", days[1], "--json")
    assert [r["day"] for r in json.loads(result.stdout)["rows"]] == [days[1]]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("orders", "get", "no-such-order"), 1),  # a failure: nothing wrong with the input
        (("orders", "list"), 2),  # usage errors from here on
        (("orders", "list", "--user", "u", "--page", "0"), 2),
        (("orders", "list", "--user", "u", "--limit", "many"), 2),
        (("analytics", "daily", "--from", "yesterday"), 2),
        (("analytics", "daily", "--from", "2026-02-01", "--to", "2026-01-01"), 2),
        (("analytics", "top-skus", "--limit", "-3"), 2),
    ],
)
def test_bad_arguments_fail_with_one_line(run, redis_client, args, code):
    result = run(*args)
    assert result.exit_code == code
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
