"""``orderflow verify``: drift between the event log and the Redis and ClickHouse models."""

from __future__ import annotations

import click
import redis

from sinks import redis_queries
from streams.admin import KafkaUnavailable
from streams.cli.output import emit_json, fail, table
from streams.codec import AvroCodec
from streams.eventlog import read_all_events
from streams.readside import ReadSideError, read_analytics
from streams.schema_store import SchemaStore
from streams.settings import Settings
from streams.verify import (
    FoldedLog,
    ModelDrift,
    compare_orders,
    fold_log,
    report,
    status_count_triples,
)


def redis_drift(settings: Settings, log: FoldedLog) -> ModelDrift:
    """Orders (status, version, total, user) and the per-status counters in Redis."""
    client = redis.Redis.from_url(settings.redis_url)
    try:
        actual = redis_queries.all_orders(client, settings.redis_prefix)
        counts = redis_queries.status_counts(client, settings.redis_prefix)
    finally:
        client.close()
    return compare_orders(log.expected(), actual, status_count_triples(log.status_counts(), counts))


def clickhouse_drift(settings: Settings, log: FoldedLog) -> ModelDrift:
    """``orders_current`` with each order's stored event count, and the daily totals."""
    rows = read_analytics(settings, "order-summaries")
    daily = read_analytics(settings, "daily")
    orders = log.orders.values()
    counts = [
        ("daily.orders", len(log.orders), sum(int(d["orders"]) for d in daily)),
        (
            "daily.cancellations",
            sum(o.status == "cancelled" for o in orders),
            sum(int(d["cancellations"]) for d in daily),
        ),
        (
            "daily.revenue_cents",
            sum(o.total_cents for o in orders),
            sum(int(d["revenue_cents"]) for d in daily),
        ),
    ]
    actual = {row["order_id"]: row for row in rows}
    return compare_orders(log.expected(with_events=True), actual, counts)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def verify(settings: Settings, as_json: bool) -> None:
    """Fold the event log and compare it with Redis and ClickHouse; exit 1 on drift."""
    codec = AvroCodec(SchemaStore.load())
    try:
        log = fold_log(e.message for e in read_all_events(settings, codec))
    except KafkaUnavailable as exc:
        fail(str(exc))
    try:
        models = {
            "redis": redis_drift(settings, log),
            "clickhouse": clickhouse_drift(settings, log),
        }
    except (ReadSideError, redis.RedisError) as exc:
        fail(str(exc))
    verdict = report(log, models)
    if as_json:
        emit_json(verdict)
    else:
        figures = verdict["log"]
        click.echo(
            f"event log: {figures['events']} events, {figures['orders']} orders, "
            f"{figures['duplicates_skipped']} duplicate(s) skipped, "
            f"{figures['unfoldable']} unfoldable"
        )
        rows = [{"model": name, **m} for name, m in verdict["models"].items()]
        click.echo(table(rows, ["model", "missing", "stale", "extra", "counts", "drift"]))
        click.echo(f"drift: {verdict['drift']}")
    if verdict["drift"]:
        raise SystemExit(1)
