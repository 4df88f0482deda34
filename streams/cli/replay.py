"""``orderflow replay``: seek the event topics to a time and rebuild or repair read models.

From the log start it is a full rebuild into shadows swapped in atomically; from a
mid-log time it repairs every order the window touched (see ``streams.ops.replay.run``).
Anything it cannot make correct is refused with one line, before anything changes.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import click
import redis
from tqdm import tqdm

from sinks.clickhouse_client import ClickHouseError, read_owner
from streams.adapters.admin import KafkaUnavailable
from streams.bootstrap import Services
from streams.cli.context import pass_services
from streams.cli.needs import require_kafka
from streams.cli.output import emit_json, fail, table, usage
from streams.config.redact import redact_url
from streams.config.settings import Settings
from streams.config.timeparse import TimeParseError, parse_time, to_millis
from streams.config.topics import PROJECTED_TOPICS
from streams.ops.consumer_groups import active_members
from streams.ops.replay.plan import PlanError, covers_whole_log, make_plan, resolve_topics
from streams.ops.replay.reader import open_replay_consumer
from streams.ops.replay.run import Replay, Summary, timed
from streams.ops.replay.shadow import ClickHouseTarget, RedisTarget

PROJECTIONS = {"redis": ("redis",), "clickhouse": ("clickhouse",), "all": ("redis", "clickhouse")}
COLUMNS = ("topic", "partition", "start_offset", "end_offset", "records")


def _times(from_: str, to: str | None) -> tuple[int | None, int | None]:
    start, end = _time(from_, "--from"), _time(to, "--to") if to else None
    if end is not None and start is not None and end < start:
        usage(f"--to {to} is before --from {from_}", "--to")
    return (None if start is None else to_millis(start)), (None if end is None else to_millis(end))


def _time(raw: str, option: str):
    try:
        return parse_time(raw)
    except TimeParseError as exc:
        usage(str(exc), option)


def _refusal(settings: Settings, mode: str, projections, topics, to: str | None) -> str | None:
    if mode == "rebuild" and to:
        return "a full rebuild runs to the end of the log; --to would swap in an older model"
    if mode == "rebuild" and len(topics) < len(PROJECTED_TOPICS):
        return "a full rebuild must read every projected topic; drop --topics"
    # A ClickHouse repair swaps in a copy of the live tables: rows a running worker
    # inserts while the copy is built would be lost, and nothing replays them afterwards.
    server = not settings.uses_embedded_clickhouse
    risky = mode == "repair" and "clickhouse" in projections and server
    writing = [g for g in settings.projection_groups if risky and active_members(settings, g)]
    if writing:
        return (
            f"workers of {writing[0]} are writing ClickHouse: stop them for a "
            "ClickHouse repair, or use --projection redis, or --from earliest"
        )
    owner = read_owner(settings) if "clickhouse" in projections else None
    if owner is not None and owner.get("pid") != os.getpid():
        where = f" ({owner['url']})" if owner.get("url") else ""
        return (
            f"embedded ClickHouse is owned by process {owner.get('pid')}{where}: stop that "
            "worker, set CLICKHOUSE_URL to a ClickHouse server, or use --projection redis"
        )
    return None


@dataclass(frozen=True)
class Request:
    """A replay as the command line asked for it, arguments checked."""

    topics: list[str]  # real Kafka topic names
    from_ms: int | None  # None: from the beginning
    to_ms: int | None  # None: to the end offsets now
    to: str | None  # --to as typed, for the refusal that names it
    projections: tuple[str, ...]
    dry_run: bool
    as_json: bool
    batch_size: int


def _targets(services: Services, projections) -> list:
    settings = services.settings
    targets: list[RedisTarget | ClickHouseTarget] = []
    if "redis" in projections:
        redis_client = services.redis
        try:
            redis_client.ping()
        except redis.RedisError as exc:
            where = redact_url(settings.redis_url)
            fail(f"Redis at {where} does not answer ({exc}): set REDIS_URL")
        targets.append(RedisTarget(redis_client, settings.redis_prefix))
    if "clickhouse" in projections:
        try:
            clickhouse = services.clickhouse
        except ClickHouseError as exc:
            fail(str(exc))
        targets.append(ClickHouseTarget(clickhouse, settings.clickhouse_database))
    return targets


@click.command()
@click.option(
    "--from", "from_", required=True, help="ISO-8601 with zone, an age (2h), or earliest."
)
@click.option("--to", default=None, help="Last record time to replay (default: the end now).")
@click.option("--projection", default="all", show_default=True, help="redis, clickhouse or all.")
@click.option("--topics", default=None, help="Comma-separated topics (default: projected ones).")
@click.option("--dry-run", is_flag=True, help="Print the plan per partition; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--batch-size", default=20_000, hidden=True, type=click.IntRange(1))
@pass_services
def replay(services: Services, from_, to, projection, topics, dry_run, as_json, batch_size) -> None:
    """Replay the event log from a time into the read models."""
    settings = services.settings
    from_ms, to_ms = _times(from_, to)
    if projection not in PROJECTIONS:
        usage(f"unknown projection {projection!r}; use redis, clickhouse or all", "--projection")
    projections = PROJECTIONS[projection]
    names = tuple(t.strip() for t in topics.split(",") if t.strip()) if topics else None
    try:
        real_topics = resolve_topics(settings, names)
    except PlanError as exc:
        usage(str(exc), "--topics")
    require_kafka(settings)
    try:
        consumer = open_replay_consumer(settings)
    except KafkaUnavailable as exc:
        fail(str(exc))
    try:
        request = Request(
            real_topics, from_ms, to_ms, to, projections, dry_run, as_json, batch_size
        )
        _run(services, consumer, request)
    finally:
        consumer.close()


def _run(services: Services, consumer, request: Request) -> None:
    settings, projections = services.settings, request.projections
    try:
        ranges = make_plan(consumer, request.topics, request.from_ms, request.to_ms)
    except PlanError as exc:
        fail(str(exc))
    mode = "rebuild" if request.from_ms is None or covers_whole_log(ranges) else "repair"
    if request.dry_run:
        _print_plan(mode, projections, ranges, request.as_json)
        return
    refusal = _refusal(settings, mode, projections, request.topics, request.to)
    if refusal:
        fail(refusal)
    targets = _targets(services, projections)
    missing = [t.name for t in targets if mode == "repair" and not t.has_model()]
    if missing:
        fail(f"no {' or '.join(missing)} model to repair: rebuild it with --from earliest")
    locked = [t for t in targets if isinstance(t, RedisTarget)]
    for target in locked:
        holder = target.lock()
        if holder:
            fail(f"another replay is running ({holder}); wait for it to finish")
    summary = Summary(mode, list(projections), partitions=[r.to_dict() for r in ranges])
    total = sum(r.records for r in ranges) if mode == "rebuild" else None
    bar = tqdm(total=total, unit="rec", unit_scale=True, file=sys.stderr, disable=None)
    job = Replay(settings, consumer, services.codec, targets, request.batch_size, bar.update)
    try:
        if mode == "rebuild":
            timed(lambda: job.rebuild(ranges, summary), summary)
        else:
            timed(lambda: job.repair(ranges, targets, summary), summary)
    finally:
        bar.close()
        for target in locked:
            target.unlock()
    _print_summary(summary, request.as_json)
    if summary.interrupted:
        sys.exit(130)


def _print_plan(mode: str, projections, ranges, as_json: bool) -> None:
    rows = [r.to_dict() for r in ranges]
    if as_json:
        emit_json(
            {"dry_run": True, "mode": mode, "projections": list(projections), "partitions": rows}
        )
        return
    click.echo(f"dry run: would {mode} {', '.join(projections)}")
    click.echo(table(rows, COLUMNS))
    click.echo(f"total records: {sum(r.records for r in ranges)}")


def _print_summary(summary: Summary, as_json: bool) -> None:
    if as_json:
        emit_json(summary.to_dict())
        return
    written = ", ".join(f"{k} {v}" for k, v in summary.written.items()) or "nothing"
    state = "swapped in" if summary.swapped else "not swapped (the live model is unchanged)"
    if summary.mode == "repair" and "clickhouse" not in summary.projections:
        state = f"{summary.repaired_orders} orders repaired in place"
    head = "interrupted" if summary.interrupted else "done"
    click.echo(
        f"{head}: {summary.mode} of {', '.join(summary.projections)}: {summary.records} records "
        f"in {summary.seconds:.1f}s ({summary.rate:,.0f}/s); written: {written}; "
        f"repaired orders: {summary.repaired_orders}; {state}",
        err=summary.interrupted,
    )
    if summary.refused:
        click.echo(
            f"skipped {summary.refused} event(s) a store refused (logged above with the "
            "store's reason; the live projection parked them: `orderflow dead-letters list`)",
            err=True,
        )
