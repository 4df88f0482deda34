"""``orderflow saga show|list|resume``: saga timelines from the saga table, read through
the HTTP API of the worker that runs the saga (``ORDERFLOW_WEB_PORT``), so they show what
the orchestrator (or the choreography observer) has recorded, including sagas parked as
``needs_attention``; ``resume`` asks the orchestrator to take a parked saga up again."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import click

from processors.saga.state import STATES
from streams.adapters.admin import KafkaUnavailable
from streams.bootstrap import Services
from streams.cli.context import pass_services, pass_settings
from streams.cli.needs import needs_kafka
from streams.cli.output import emit_json, fail, table, when
from streams.config.clock import now_ms
from streams.config.settings import Settings
from streams.config.topics import SAGA_TICKS
from streams.messages import Message, Record

JSON = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")


def fetch(settings: Settings, path: str, timeout: float = 10.0):
    """GET ``path`` from the saga worker's web API: (status, JSON body)."""
    url = f"{settings.web_url}{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        if exc.code == 503:
            fail(f"the saga worker at {settings.web_url} is still restoring its tables; "
                 "try again in a moment")  # fmt: skip
        return exc.code, json.loads(exc.read() or b"{}")
    except (urllib.error.URLError, OSError) as exc:
        fail(
            f"no saga worker answers on {url} ({exc}): "
            "run `orderflow worker` or set ORDERFLOW_WEB_PORT"
        )


@click.group()
def saga() -> None:
    """Fulfilment sagas: one order's timeline, or every saga in a state."""


@saga.command("show")
@click.argument("order_id")
@JSON
@pass_settings
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
    rows = [{**entry, "time": when(entry.get("at"))} for entry in body["timeline"]]
    click.echo(table(rows, ["time", "step", "command", "attempt", "reply", "outcome", "reason"]))


@saga.command("list")
@click.option("--state", type=click.Choice(STATES), default=None, help="Only sagas in it.")
@JSON
@pass_settings
def list_sagas(settings: Settings, state: str | None, as_json: bool) -> None:
    """Every saga (in STATE), oldest update first."""
    body = _every_saga(settings, state)
    if as_json:
        emit_json(body)
        return
    rows = [{**row, "updated": when(row.get("updated_at"))} for row in body["sagas"]]
    if not rows:
        click.echo("no sagas" + (f" in state {state}" if state else ""))
        return
    click.echo(table(rows, ["order_id", "status", "step", "attempt", "reason", "updated"]))


def _every_saga(settings: Settings, state: str | None) -> dict:
    """``/sagas/`` read page after page (each answer is bounded), as one answer."""
    rows: list[dict] = []
    while True:
        query = urllib.parse.urlencode({"offset": len(rows), **({"state": state} if state else {})})
        _, body = fetch(settings, f"/sagas/?{query}")
        rows += body["sagas"]
        if not body.get("truncated"):
            return {"state": state, "sagas": rows}


@saga.command("resume")
@click.argument("order_id")
@click.option("--note", default="", help="Why; kept in the saga's timeline.")
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Seconds to wait for the saga to leave needs_attention (0: do not wait).",
)
@JSON
@pass_services
@needs_kafka
def resume(services: Services, order_id: str, note: str, wait: float, as_json: bool) -> None:
    """Resume ORDER_ID's saga parked as needs_attention: the orchestrator sends the
    compensation step it gave up on again (from attempt 1, same idempotency key) and
    goes on with the rest of the compensation. Fix what made the step fail first."""
    settings = services.settings
    path = f"/sagas/{urllib.parse.quote(order_id)}/"
    status, body = fetch(settings, path)
    if status == 404:
        fail(f"no saga for order {order_id}")
    if body["status"] != "needs_attention":
        fail(f"the saga of order {order_id} is {body['status']}, not needs_attention: "
             "there is nothing to resume")  # fmt: skip
    parked_version = body["version"]
    request = Message(
        Record.SAGA_RESUME_REQUESTED,
        {"order_id": order_id, "request_id": str(uuid.uuid4()), "note": note,
         "requested_at": now_ms()},
    )  # fmt: skip
    try:
        client = services.command_client()
    except KafkaUnavailable as exc:
        fail(str(exc))
    try:
        client.send(request, topic=SAGA_TICKS.name)
        client.flush()
    finally:
        client.close()
    outcome = {"order_id": order_id, "requested": True, "step": body.get("step"),
               "status": body["status"]}  # fmt: skip
    deadline = time.monotonic() + wait
    while wait and time.monotonic() < deadline:
        _, now = fetch(settings, path)
        if now.get("version", parked_version) > parked_version:
            outcome.update(status=now["status"], step=now.get("step"))
            break
        time.sleep(0.2)  # polling the worker's API, not synchronisation
    if as_json:
        emit_json(outcome)
        return
    if outcome["status"] == "needs_attention":
        click.echo(f"resume requested for order {order_id}; the saga has not moved yet "
                   f"(see `orderflow saga show {order_id}`)")  # fmt: skip
    else:
        click.echo(
            f"saga of order {order_id} resumed: {outcome['status']}"
            + (f", step {outcome['step']} sent again" if outcome.get("step") else "")
        )
