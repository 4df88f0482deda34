"""``orderflow analytics``: reports from the ClickHouse read model (through ``readside``)."""

from __future__ import annotations

import datetime as dt

import click

from streams.cli.context import pass_settings
from streams.cli.output import emit_json, fail, readable, table, usage
from streams.config.settings import Settings
from streams.ops.readside import ReadSideError, read_analytics

JSON = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")

COLUMNS = {
    "daily": ["day", "orders", "revenue", "cancellations"],
    "funnel": ["status", "orders"],
    "top-skus": ["sku", "units", "revenue", "orders"],
    "cancellations": ["reason", "cancellations"],
    "sagas": [
        "step",
        "sent",
        "succeeded",
        "failed",
        "timed_out",
        "needs_attention",
        "completed",
        "compensated",
        "failure_rate",
    ],
}


@click.group()
def analytics() -> None:
    """Analytics from ClickHouse: daily figures, the status funnel, SKUs, cancellations."""


def _report(settings: Settings, name: str, params: dict[str, str], as_json: bool) -> None:
    try:
        rows = read_analytics(settings, name, params)
    except ReadSideError as exc:
        fail(str(exc))
    if as_json:
        emit_json({"analytics": name, "rows": rows})
    elif rows:
        click.echo(table([readable(row) for row in rows], COLUMNS[name]))
    else:
        click.echo(f"no data for {name}")


def _date(label: str, raw: str | None) -> dt.date | None:
    if raw is None:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        usage(f"must be a date like 2026-11-26, got {raw!r}", label)


@analytics.command("daily")
@click.option("--from", "date_from", default=None, help="First UTC day (YYYY-MM-DD), inclusive.")
@click.option("--to", "date_to", default=None, help="Last UTC day (YYYY-MM-DD), inclusive.")
@JSON
@pass_settings
def daily(settings: Settings, date_from: str | None, date_to: str | None, as_json: bool) -> None:
    """Orders created, revenue (currency units; cents in --json) and cancellations per
    UTC day."""
    start, end = _date("--from", date_from), _date("--to", date_to)
    if start and end and start > end:
        usage(f"--from {start} is after --to {end}", "--to")
    params = {"from": start.isoformat() if start else None, "to": end.isoformat() if end else None}
    _report(settings, "daily", {k: v for k, v in params.items() if v}, as_json)


@analytics.command("funnel")
@JSON
@pass_settings
def funnel(settings: Settings, as_json: bool) -> None:
    """Number of orders currently in each status."""
    _report(settings, "funnel", {}, as_json)


@analytics.command("top-skus")
@click.option("--limit", default="10", show_default=True, help="How many SKUs (1-1000).")
@JSON
@pass_settings
def top_skus(settings: Settings, limit: str, as_json: bool) -> None:
    """Best-selling SKUs by units ordered."""
    if not limit.isdigit() or not 1 <= int(limit) <= 1000:
        usage(f"must be an integer from 1 to 1000, got {limit!r}", "--limit")
    _report(settings, "top-skus", {"limit": str(int(limit))}, as_json)


@analytics.command("cancellations")
@JSON
@pass_settings
def cancellations(settings: Settings, as_json: bool) -> None:
    """How often each cancellation reason was given."""
    _report(settings, "cancellations", {}, as_json)


@analytics.command("sagas")
@JSON
@pass_settings
def sagas(settings: Settings, as_json: bool) -> None:
    """Saga steps: outcomes and failure rate per step; the ``saga`` row counts how sagas
    ended (completed, compensated)."""
    _report(settings, "sagas", {}, as_json)
