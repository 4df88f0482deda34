"""``orderflow orders``: send commands and wait for outcomes; history and time travel."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation

import click

from processors.orders import limits
from processors.orders.domain import fold
from processors.orders.handling import order_from_snapshot
from streams.adapters.admin import KafkaUnavailable
from streams.adapters.client import new_command
from streams.adapters.eventlog import latest_snapshot, read_order_events
from streams.bootstrap import Services
from streams.cli.context import pass_services
from streams.cli.needs import needs_kafka
from streams.cli.output import emit_json, fail, fields, readable, table, usage
from streams.cli.params import Seconds, Time
from streams.config.timeparse import TimeParseError, from_millis, parse_time, to_millis
from streams.messages import Record

JSON = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
TIMEOUT = click.option(
    "--timeout",
    default=30.0,
    show_default=True,
    type=Seconds(most=86_400),
    help="Seconds to wait for the outcome.",
)
_CENT = Decimal("0.01")
_PRICE_RANGE = (limits.MIN_UNIT_PRICE_CENTS * _CENT, limits.MAX_UNIT_PRICE_CENTS * _CENT)


@click.group()
def orders() -> None:
    """Order commands (write side), history and as-of state from the event log."""


def _shown(raw: str, most: int = 40) -> str:
    # Name the value in an error, but never print a megabyte of it.
    return repr(raw if len(raw) <= most else raw[:most] + "...")


def parse_item(raw: str) -> dict:
    """``SKU:QTY:PRICE`` with PRICE in currency units (``12.50``) into an order line.

    The line must be within the order bounds (``processors.orders.limits``): a value
    the aggregate would reject, or one that does not even fit the message (``1e30``,
    ``Infinity``), is refused here, before anything is sent.
    """
    parts = raw.split(":")
    if len(parts) != 3 or not parts[0].strip():
        raise click.BadParameter(f"{_shown(raw)} is not SKU:QTY:PRICE (e.g. SKU-1:2:12.50)")
    sku, qty, price = parts
    if len(sku) > limits.MAX_SKU_CHARS:
        raise click.BadParameter(
            f"{_shown(raw)}: SKU has {len(sku):,} characters; at most {limits.MAX_SKU_CHARS}"
        )
    try:
        quantity = int(qty)
    except ValueError:
        raise click.BadParameter(f"{_shown(raw)}: QTY must be an integer") from None
    if not limits.MIN_QUANTITY <= quantity <= limits.MAX_QUANTITY:
        raise click.BadParameter(
            f"{_shown(raw)}: QTY must be {limits.MIN_QUANTITY} to {limits.MAX_QUANTITY:,}"
        )
    try:
        units = Decimal(price)
    except InvalidOperation:
        raise click.BadParameter(f"{_shown(raw)}: PRICE must be a number like 12.50") from None
    low, high = _PRICE_RANGE
    # Range first: Decimal comparisons are exact, arithmetic on 1e999999 is not.
    if not units.is_finite() or not low <= units <= high:
        raise click.BadParameter(f"{_shown(raw)}: PRICE must be {low} to {high:,}")
    if units != units.quantize(_CENT):
        raise click.BadParameter(f"{_shown(raw)}: PRICE has more than two decimals")
    return {"sku": sku, "quantity": quantity, "unit_price_cents": int(units.quantize(_CENT) * 100)}


def _items(ctx, param, values) -> list[dict]:
    if len(values) > limits.MAX_LINES:
        raise click.BadParameter(
            f"an order has at most {limits.MAX_LINES} items, not {len(values)}"
        )
    return [parse_item(v) for v in values]


def _text(most: int):
    """A callback refusing an empty (or blank) value and one longer than ``most``."""

    def check(ctx, param, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.strip():
            raise click.BadParameter("must not be empty")
        if len(value) > most:
            raise click.BadParameter(f"has {len(value):,} characters; at most {most:,}")
        return value

    return check


def _currency(ctx, param, value: str) -> str:
    code = value.strip().upper()
    if not limits.CURRENCY.fullmatch(code):
        raise click.BadParameter(f"{_shown(value, 8)} is not an ISO-4217 code such as EUR")
    return code


def _send_and_wait(services: Services, command, timeout: float, as_json: bool) -> None:
    try:
        client = services.command_client()
    except KafkaUnavailable as exc:
        fail(str(exc))
    try:
        client.start_listening()
        client.send(command)
        client.flush()
        result = client.wait_for_results([command["command_id"]], timeout).get(
            command["command_id"]
        )
    except KafkaUnavailable as exc:
        fail(str(exc))
    finally:
        client.close()
    if result is None:
        fail(
            f"no outcome for command {command['command_id']} within {timeout:.0f}s: "
            "is a worker running (orderflow worker)?"
        )
    out = {
        "status": result["status"],
        "order_id": result["order_id"],
        "version": result["version"],
        "command_id": result["command_id"],
        "event_ids": result["event_ids"],
    }
    if result["status"] == "rejected":
        out.update(reason=result["reason"], reason_code=result["reason_code"])
    if as_json:
        emit_json(out)
    elif result["status"] == "accepted":
        click.echo(f"accepted: order {out['order_id']} is at version {out['version']}")
    else:
        click.echo(f"rejected ({out['reason_code']}): {out['reason']}")
    if result["status"] == "rejected":
        raise SystemExit(1)  # failed, as every refusal; 2 is click's usage error


@orders.command("create")
@click.option(
    "--user",
    "user_id",
    required=True,
    callback=_text(limits.MAX_ID_CHARS),
    help="The customer's id.",
)
@click.option(
    "--item",
    "items",
    multiple=True,
    required=True,
    callback=_items,
    help="SKU:QTY:PRICE, PRICE per unit in currency units with up to two decimals: "
    f"SKU-1:2:19.99 is 2 x 19.99 (sent as 1999 cents); repeatable, up to {limits.MAX_LINES}.",
)
@click.option("--currency", default="EUR", show_default=True, callback=_currency)
@click.option(
    "--order-id", default=None, callback=_text(limits.MAX_ID_CHARS), help="Defaults to a new UUID."
)
@TIMEOUT
@JSON
@pass_services
@needs_kafka
def create(services: Services, user_id, items, currency, order_id, timeout, as_json) -> None:
    """Create an order and wait for its outcome (exit 0 accepted, 1 rejected).

    Prices are given in currency units (19.99) and kept as integer cents (1999), which
    is what `--json`, the events and the read models show."""
    order_id = order_id or str(uuid.uuid4())
    command = new_command(
        Record.CREATE_ORDER, order_id, user_id=user_id, items=items, currency=currency
    )
    _send_and_wait(services, command, timeout, as_json)


def _lifecycle(name: str, help_text: str, **extra):
    @click.argument("order_id", callback=_text(limits.MAX_ID_CHARS))
    @click.option(
        "--expected-version",
        type=click.IntRange(min=0, max=limits.INT64_MAX),
        default=None,
        help="Reject unless the order is at this version.",
    )
    @TIMEOUT
    @JSON
    @pass_services
    @needs_kafka
    def command(services: Services, order_id, expected_version, timeout, as_json, **fields):
        msg = new_command(name, order_id, expected_version=expected_version, **fields)
        _send_and_wait(services, msg, timeout, as_json)

    command.__doc__ = help_text
    for option in extra.values():
        command = option(command)
    return command


orders.command("cancel")(
    _lifecycle(
        Record.CANCEL_ORDER,
        "Cancel an order (not once shipped).",
        reason=click.option("--reason", required=True, callback=_text(limits.MAX_REASON_CHARS)),
    )
)
orders.command("confirm")(_lifecycle(Record.CONFIRM_ORDER, "Confirm a pending order."))
orders.command("ship")(
    _lifecycle(
        Record.SHIP_ORDER,
        "Mark a confirmed order shipped.",
        tracking=click.option(
            "--tracking-number",
            "tracking_number",
            required=True,
            callback=_text(limits.MAX_TRACKING_NUMBER_CHARS),
        ),
    )
)
orders.command("deliver")(_lifecycle(Record.DELIVER_ORDER, "Mark a shipped order delivered."))


def _history(services: Services, order_id: str):
    try:
        return read_order_events(services.settings, services.codec, order_id)
    except KafkaUnavailable as exc:
        fail(str(exc))


@orders.command("history")
@click.argument("order_id")
@JSON
@pass_services
@needs_kafka
def history(services: Services, order_id: str, as_json: bool) -> None:
    """Every event of ORDER_ID: time, type, version, payload (source: the Kafka log)."""
    events = _history(services, order_id)
    if not events:
        fail(f"no events for order {order_id}")
    rows = [
        {
            "occurred_at": from_millis(e.message["occurred_at"]),
            "type": e.message.name,
            "version": e.message["version"],
            "partition": e.partition,
            "offset": e.offset,
            "payload": e.message.body,
        }
        for e in events
    ]
    if as_json:
        emit_json({"order_id": order_id, "source": "kafka-log", "events": rows})
    else:
        click.echo(f"order {order_id} (source: the Kafka event log)")
        click.echo(table(rows, ["occurred_at", "type", "version", "partition", "offset"]))


def _fold_state(services: Services, order_id: str, cutoff):
    """The order folded from the log: latest snapshot + later events, or (as of a past
    time) every event up to it. Never read from the aggregate's mutable table."""
    events = _history(services, order_id)
    if cutoff is not None:
        events = [e for e in events if e.message["occurred_at"] <= to_millis(cutoff)]
        return fold(e.message for e in events), f"kafka-log ({len(events)} events)"
    snapshot = latest_snapshot(services.settings, services.codec, order_id)
    if snapshot is None:
        return fold(e.message for e in events), f"kafka-log ({len(events)} events)"
    tail = [e.message for e in events if e.message["version"] > snapshot["version"]]
    source = f"kafka-log (snapshot v{snapshot['version']} + {len(tail)} events)"
    return fold(tail, order_from_snapshot(snapshot)), source


@orders.command("show")
@click.argument("order_id")
@click.option(
    "--as-of",
    "as_of",
    default=None,
    type=Time(),
    help="ISO-8601 with zone or an age (2h): state at that time.",
)
@JSON
@pass_services
@needs_kafka
def show(services: Services, order_id: str, as_of: str | None, as_json: bool) -> None:
    """The state of ORDER_ID folded from the event log (now, or --as-of a past time)."""
    try:
        cutoff = parse_time(as_of) if as_of else None
    except TimeParseError as exc:  # checked by Time(); a second later it cannot fail
        usage(str(exc), "--as-of")
    state, source = _fold_state(services, order_id, cutoff)
    if state is None:
        when = f" as of {cutoff.isoformat()}" if cutoff else ""
        fail(f"order {order_id} did not exist{when}")
    out = {
        **state.to_dict(),
        "source": source,
        "as_of": cutoff.isoformat() if cutoff else None,
    }
    if as_json:
        emit_json(out)
    else:
        click.echo(fields(readable(out)))
