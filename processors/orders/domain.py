"""The order aggregate: pure ``decide`` and ``evolve``, no Faust, no I/O.

``decide(state, command, now_ms)`` turns a command into new events or rejects it;
``evolve(state, event)`` folds one event into the state. The agent, snapshots, history,
as-of queries, replay and tests all fold with ``evolve``; nothing else does.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from processors.orders import limits
from streams.messages import Message, Record


class OrderStatus(StrEnum):
    """An order's status: the aggregate's, and what every read model shows
    (``processors.projections.order_status``); a ``str`` equal to its value."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    SHIPPED = "shipped"
    DELIVERED = "delivered"


PENDING, CONFIRMED, CANCELLED, SHIPPED, DELIVERED = OrderStatus
TERMINAL = frozenset({CANCELLED, DELIVERED})

# Event ids derive from the command id, so a command decided twice (a redelivery after
# a crash) yields the same ids and every idempotent reader drops the second copy.
_EVENT_ID_NAMESPACE = uuid.UUID("6f1c3f64-8a59-4b43-9d6a-0f5b6f0c9a11")


class CommandRejected(Exception):
    """A command the aggregate refuses; ``code`` is stable, ``message`` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Order:
    """The current state of one order, as folded from its events."""

    order_id: str
    user_id: str
    status: str
    items: tuple[dict[str, Any], ...]
    currency: str
    total_cents: int
    version: int
    created_at: int
    updated_at: int
    cancel_reason: str | None = None
    tracking_number: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "user_id": self.user_id,
            "status": self.status,
            "items": [dict(i) for i in self.items],
            "currency": self.currency,
            "total_cents": self.total_cents,
            "version": self.version,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "cancel_reason": self.cancel_reason,
            "tracking_number": self.tracking_number,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Order:
        fields = dict(data)
        fields["items"] = tuple(dict(i) for i in fields["items"])
        return cls(**fields)


def event_id_for(command_id: str, index: int) -> str:
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, f"{command_id}:{index}"))


def _event(
    name: str, state: Order | None, command: Message, now_ms: int, **payload: Any
) -> Message:
    version = (state.version if state else 0) + 1
    envelope = {
        "event_id": event_id_for(command["command_id"], 0),
        "order_id": command["order_id"],
        "version": version,
        "occurred_at": now_ms,
        "correlation_id": command["correlation_id"],
        "causation_id": command["command_id"],
    }
    return Message(name, {**envelope, **payload})


def _check_text(name: str, value: Any, max_chars: int, *, may_be_empty: bool = False) -> None:
    """``value`` must be a string of 1 (0 if ``may_be_empty``) to ``max_chars``
    characters, not only blanks.

    The message names the field and the bound, never the value: a value beyond the
    bound is exactly what must not be copied into the result."""
    if not isinstance(value, str):
        raise CommandRejected("bad_field", f"{name} must be a string")
    if not value.strip() and not (may_be_empty and value == ""):
        raise CommandRejected("bad_field", f"{name} must not be empty")
    if len(value) > max_chars:
        raise CommandRejected(
            "bad_field", f"{name} has {len(value):,} characters; at most {max_chars:,} allowed"
        )


def _check_envelope(command: Message) -> None:
    # An empty correlation id only leaves the command untraced; the other two are keys.
    for name in limits.ID_FIELDS:
        empty_ok = name == "correlation_id"
        _check_text(name, command[name], limits.MAX_ID_CHARS, may_be_empty=empty_ok)


def _check_in_range(code: str, what: str, value: Any, low: int, high: int) -> None:
    # bool is an int in Python, but never a quantity or a price.
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise CommandRejected(code, f"{what} is {value!r}; allowed {low:,} to {high:,}")


def _validate_items(items: list[dict[str, Any]]) -> None:
    """Lines within ``limits``: so the order's total fits Int64 and its records fit Kafka."""
    if not items:
        raise CommandRejected("no_items", "an order must have at least one item")
    if len(items) > limits.MAX_LINES:
        raise CommandRejected(
            "too_many_items",
            f"an order has at most {limits.MAX_LINES} lines; this one has {len(items):,}",
        )
    for n, line in enumerate(items, start=1):
        _check_text(f"sku of line {n}", line["sku"], limits.MAX_SKU_CHARS)
        label = f"line {n} ({line['sku']})"
        _check_in_range(
            "bad_quantity",
            f"quantity of {label}",
            line["quantity"],
            limits.MIN_QUANTITY,
            limits.MAX_QUANTITY,
        )
        _check_in_range(
            "bad_price",
            f"unit_price_cents of {label}",
            line["unit_price_cents"],
            limits.MIN_UNIT_PRICE_CENTS,
            limits.MAX_UNIT_PRICE_CENTS,
        )


def check_create(user_id: Any, items: list[dict[str, Any]], currency: Any) -> None:
    """The CreateOrder rules that need no state; the CLI checks them before sending."""
    _check_text("user_id", user_id, limits.MAX_ID_CHARS)
    if not isinstance(currency, str) or not limits.CURRENCY.fullmatch(currency):
        shown = repr(currency[:8]) if isinstance(currency, str) else repr(currency)
        raise CommandRejected(
            "bad_field", f"currency must be an ISO-4217 code of 3 capital letters, not {shown}"
        )
    _validate_items(items)


def _require(state: Order | None, command: Message, allowed: Iterable[str]) -> Order:
    if state is None:
        raise CommandRejected("unknown_order", f"order {command['order_id']} does not exist")
    if state.status in TERMINAL:
        raise CommandRejected("terminal_state", f"the order is already {state.status}")
    if state.status not in allowed:
        raise CommandRejected(
            "invalid_transition",
            f"{command.name} is not allowed when the order is {state.status}",
        )
    return state


def _check_expected_version(state: Order | None, command: Message) -> None:
    expected = command.get("expected_version")
    current = state.version if state else 0
    if expected is not None and expected != current:
        raise CommandRejected(
            "version_conflict",
            f"expected version {expected} but the order is at version {current}",
        )


def decide(state: Order | None, command: Message, now_ms: int) -> list[Message]:
    """The events that ``command`` produces against ``state``; raises CommandRejected.

    The n-th event of a command gets the id ``event_id_for(command_id, n)`` and the n-th
    next version: a command decided twice yields the same ids, and two events of one
    command never share an id or a version."""
    events = _events(state, command, now_ms)
    base = state.version if state else 0
    return [number(event, command["command_id"], n, base) for n, event in enumerate(events)]


def number(event: Message, command_id: str, n: int, base_version: int) -> Message:
    """``event`` as the ``n``-th event of its command, after version ``base_version``."""
    body = {**event.body, "event_id": event_id_for(command_id, n), "version": base_version + n + 1}
    return Message(event.name, body)


def _events(state: Order | None, command: Message, now_ms: int) -> list[Message]:
    # Bounds first: a command beyond them is rejected whatever the state.
    _check_envelope(command)
    name = command.name
    if name == Record.CREATE_ORDER:
        items = [dict(i) for i in command["items"]]
        check_create(command["user_id"], items, command["currency"])
    elif name == Record.CANCEL_ORDER:
        _check_text("reason", command["reason"], limits.MAX_REASON_CHARS)
    elif name == Record.SHIP_ORDER:
        _check_text("tracking_number", command["tracking_number"], limits.MAX_TRACKING_NUMBER_CHARS)
    _check_expected_version(state, command)
    if name == Record.CREATE_ORDER:
        if state is not None:
            raise CommandRejected("duplicate_order", f"order {state.order_id} already exists")
        total = sum(i["quantity"] * i["unit_price_cents"] for i in items)
        return [
            _event(
                Record.ORDER_CREATED,
                state,
                command,
                now_ms,
                user_id=command["user_id"],
                items=items,
                currency=command["currency"],
                total_cents=total,
                sales_channel=command.get("sales_channel") or "unknown",
            )
        ]
    if name == Record.CONFIRM_ORDER:
        _require(state, command, {PENDING})
        return [_event(Record.ORDER_CONFIRMED, state, command, now_ms)]
    if name == Record.CANCEL_ORDER:
        if state is not None and state.status == SHIPPED:
            raise CommandRejected("already_shipped", "a shipped order cannot be cancelled")
        _require(state, command, {PENDING, CONFIRMED})
        return [_event(Record.ORDER_CANCELLED, state, command, now_ms, reason=command["reason"])]
    if name == Record.SHIP_ORDER:
        _require(state, command, {CONFIRMED})
        return [
            _event(
                Record.ORDER_SHIPPED,
                state,
                command,
                now_ms,
                tracking_number=command["tracking_number"],
            )
        ]
    if name == Record.DELIVER_ORDER:
        _require(state, command, {SHIPPED})
        return [_event(Record.ORDER_DELIVERED, state, command, now_ms)]
    raise CommandRejected("unknown_command", f"no rule for command {name}")


def evolve(state: Order | None, event: Message) -> Order:
    """The state after ``event``; the only place order events are folded."""
    body = event.body
    at = body["occurred_at"]
    if event.name == Record.ORDER_CREATED:
        return Order(
            order_id=body["order_id"],
            user_id=body["user_id"],
            status=PENDING,
            items=tuple(dict(i) for i in body["items"]),
            currency=body["currency"],
            total_cents=body["total_cents"],
            version=body["version"],
            created_at=at,
            updated_at=at,
        )
    if state is None:
        raise ValueError(f"{event.name} for order {body['order_id']} before OrderCreated")
    common = {"version": body["version"], "updated_at": at}
    if event.name == Record.ORDER_CONFIRMED:
        return replace(state, status=CONFIRMED, **common)
    if event.name == Record.ORDER_CANCELLED:
        return replace(state, status=CANCELLED, cancel_reason=body["reason"], **common)
    if event.name == Record.ORDER_SHIPPED:
        return replace(state, status=SHIPPED, tracking_number=body["tracking_number"], **common)
    if event.name == Record.ORDER_DELIVERED:
        return replace(state, status=DELIVERED, **common)
    # An event this code does not know yet (written by a newer aggregate) still takes a
    # place in the order's history, so the next version number stays gapless.
    return replace(state, **common)


def fold(events: Iterable[Message], state: Order | None = None) -> Order | None:
    """Fold events from ``state`` (None, or a snapshot's state) onwards."""
    for event in events:
        state = evolve(state, event)
    return state
