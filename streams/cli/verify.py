"""``orderflow verify``: drift between the event log and the Redis and ClickHouse models,
and between the log and the aggregate's accepted command results (the write side)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator

import click
import redis
from tqdm import tqdm

from sinks import redis_queries
from streams.adapters.admin import KafkaUnavailable
from streams.adapters.codec import AvroCodec
from streams.adapters.eventlog import LoggedEvent, partition_for, read_all_events
from streams.adapters.writeside import WriteSideLog
from streams.bootstrap import Services
from streams.cli.context import pass_services
from streams.cli.needs import needs_kafka
from streams.cli.output import emit_json, fail, table
from streams.config.settings import Settings
from streams.messages import Message
from streams.ops.readside import ReadSideError, read_analytics
from streams.ops.verify import (
    FoldedLog,
    ModelDrift,
    WriteLedger,
    WriteSideDrift,
    compare_orders,
    compare_write_side,
    fold_log,
    report,
    results_horizon,
    status_count_triples,
)


def redis_drift(services: Services, log: FoldedLog) -> ModelDrift:
    """Orders (status, version, total, user) and the per-status counters in Redis."""
    client, prefix = services.redis, services.settings.redis_prefix
    actual = redis_queries.all_orders(client, prefix)
    counts = redis_queries.status_counts(client, prefix)
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


def read_both_sides(
    settings: Settings, codec: AvroCodec, read: Callable[[int], object] = lambda n: None
) -> tuple[FoldedLog, WriteSideDrift]:
    """The folded log and the write-side check, from one read of the events and the
    command results up to the same end offsets; ``read(1)`` after each record."""
    ledger = WriteLedger()
    with WriteSideLog(settings, codec) as sides:
        log = fold_log(_through(ledger, _counted(sides.events(), read)))
        first_kept = _add_results(ledger, _counted(sides.results(), read))
        drift = compare_write_side(ledger, _beyond_retention(sides, first_kept))
        if drift.mismatches:
            # A transaction may have been committing while the end offsets were asked for.
            events, results = sides.read_on()
            later = WriteLedger()
            for e in events:
                later.add_event(e.message, e.timestamp_ms)
            _add_results(later, results)
            drift.settle(later)
    return log, drift


def _counted(records: Iterable[LoggedEvent], read: Callable[[int], object]):
    for record in records:
        read(1)
        yield record


def _through(ledger: WriteLedger, events: Iterable[LoggedEvent]) -> Iterator[Message]:
    """Each event's message, noted in ``ledger`` on the way to the fold."""
    for e in events:
        ledger.add_event(e.message, e.timestamp_ms)
        yield e.message


def _add_results(ledger: WriteLedger, results: Iterable[LoggedEvent]) -> dict[int, int]:
    """Note every result; returns each results partition's first kept timestamp."""
    first_kept: dict[int, int] = {}
    for r in results:
        ledger.add_result(r.message)
        first_kept.setdefault(r.partition, r.timestamp_ms)
    return first_kept


def _beyond_retention(sides: WriteSideLog, first_kept: dict[int, int]):
    """Whether an order's event is older than the results its partition still keeps."""
    trimmed = sides.results_trimmed()
    horizon = results_horizon(trimmed, first_kept, sides.opened_ms)

    def check(order_id: str, timestamp_ms: int) -> bool:
        p = partition_for(order_id.encode(), len(trimmed))
        return p in horizon and timestamp_ms < horizon[p]

    return check


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option(
    "--read-side-only",
    is_flag=True,
    help="Skip the write-side check: for an event log not written by the aggregate "
    "(bench.event_log, test fixtures), which has no command results.",
)
@pass_services
@needs_kafka
def verify(services: Services, as_json: bool, read_side_only: bool) -> None:
    """Fold the event log and compare it with Redis and ClickHouse, and with the accepted
    command results; exit 1 on drift or a write-side mismatch."""
    settings = services.settings
    codec = services.codec
    # On a terminal only (stderr), never with --json: the log can be millions of records.
    bar = tqdm(desc="reading the log", unit=" records", file=sys.stderr, disable=as_json or None)
    try:
        if read_side_only:
            events = _counted(read_all_events(settings, codec), bar.update)
            log = fold_log(e.message for e in events)
            write_side = WriteSideDrift(checked=False)
        else:
            log, write_side = read_both_sides(settings, codec, bar.update)
    except KafkaUnavailable as exc:
        fail(str(exc))
    finally:
        bar.close()
    try:
        models = {
            "redis": redis_drift(services, log),
            "clickhouse": clickhouse_drift(settings, log),
        }
    except (ReadSideError, redis.RedisError) as exc:
        fail(str(exc))
    verdict = report(log, models, write_side)
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
        echo_write_side(verdict["write_side"])
        click.echo(f"drift: {verdict['drift']}")
    if verdict["drift"]:
        raise SystemExit(1)


def echo_write_side(side: dict) -> None:
    """The write side's figures, then every example mismatch with its order and command."""
    if not side["checked"]:
        click.echo("write side: not checked (--read-side-only)")
        return
    click.echo(
        f"write side: {side['accepted_commands']} accepted command(s), {side['events']} "
        f"event(s); {side['missing_events']} accepted without their events, "
        f"{side['unaccepted_events']} event(s) without an accepted command; "
        f"{side['in_flight']} settled while read, {side['beyond_retention']} older than "
        "the kept command results (not checked)"
    )
    for m in side["examples"]["missing_events"]:
        click.echo(
            f"  accepted, events missing: order {m['order_id']} command {m['command_id']}"
            f" events {', '.join(m['event_ids']) or '(none named)'}"
        )
    for u in side["examples"]["unaccepted_events"]:
        click.echo(
            f"  event without accepted command: order {u['order_id']} {u['event']} "
            f"{u['event_id']} caused by command {u['causation_id']}"
        )
    shown = len(side["examples"]["missing_events"]) + len(side["examples"]["unaccepted_events"])
    if side["mismatches"] > shown:
        click.echo(f"  ... and {side['mismatches'] - shown} more")
