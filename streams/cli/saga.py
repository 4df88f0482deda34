"""``orderflow saga show|list``: saga timelines from the saga table, read through the
HTTP API of the worker that runs the saga (``ORDERFLOW_WEB_PORT``), so they show what
the orchestrator (or the choreography observer) has recorded, including sagas parked as
``needs_attention``."""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.parse
import urllib.request

import click

from processors.saga.state import STATES
from streams.cli.output import emit_json, fail, table
from streams.settings import Settings

JSON = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")


def fetch(settings: Settings, path: str, timeout: float = 10.0):
    """GET ``path`` from the saga worker's web API: (status, JSON body)."""
    url = f"{settings.web_url}{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except (urllib.error.URLError, OSError) as exc:
        fail(
            f"no saga worker answers on {url} ({exc}): "
            "run `orderflow worker` or set ORDERFLOW_WEB_PORT"
        )


def _when(ms: int | None) -> str:
    if not ms:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


@click.group()
def saga() -> None:
    """Fulfilment sagas: one order's timeline, or every saga in a state."""


@saga.command("show")
@click.argument("order_id")
@JSON
@click.pass_obj
def show(settings: Settings, order_id: str, as_json: bool) -> None:
    """The timeline of ORDER_ID's saga: step, command, reply, time, outcome."""
    status, body = fetch(settings, f"/sagas/{urllib.parse.quote(order_id)}/")
    if status == 404:
        fail(f"no saga for order {order_id}")
    if as_json:
        emit_json(body)
        return
    click.echo(
        f"saga {body['saga_id']} ({body['mode']}) for order {order_id}: {body['status']}"
        + (f" ({body['reason']})" if body.get("reason") else "")
    )
    rows = [{**entry, "time": _when(entry.get("at"))} for entry in body["timeline"]]
    click.echo(table(rows, ["time", "step", "command", "attempt", "reply", "outcome", "reason"]))


@saga.command("list")
@click.option("--state", type=click.Choice(STATES), default=None, help="Only sagas in it.")
@JSON
@click.pass_obj
def list_sagas(settings: Settings, state: str | None, as_json: bool) -> None:
    """Every saga (in STATE), oldest update first."""
    query = f"?state={state}" if state else ""
    _, body = fetch(settings, f"/sagas/{query}")
    if as_json:
        emit_json(body)
        return
    rows = [{**row, "updated": _when(row.get("updated_at"))} for row in body["sagas"]]
    if not rows:
        click.echo("no sagas" + (f" in state {state}" if state else ""))
        return
    click.echo(table(rows, ["order_id", "status", "step", "attempt", "reason", "updated"]))
