"""The order aggregate: pure ``decide`` and ``evolve``, no Faust, no I/O.

``decide(state, command, now_ms)`` turns a command into new events or rejects it;
``evolve(state, event)`` folds one event into the state. The agent, snapshots, history,
as-of queries, replay and tests all fold with ``evolve``; nothing else does.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from streams.messages import Message

PENDING, CONFIRMED, CANCELLED, SHIPPED, DELIVERED = (
    "pending",
    "confirmed",
    "cancelled",
    "shipped",
    "delivered",
)
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


def _event(name: str, state: Order | None, command: Message, now_ms: int, **payload) -> Message:
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


def _validate_items(items: list[dict[str, Any]]) -> None:
    if not items:
        raise CommandRejected("no_items", "an order must have at least one item")
    for line in items:
        if line["quantity"] <= 0:
            raise CommandRejected("bad_quantity", f"quantity of {line['sku']} must be positive")
        if line["unit_price_cents"] <= 0:
            raise CommandRejected("bad_price", f"unit price of {line['sku']} must be positive")


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
    """The events that ``command`` produces against ``state``; raises CommandRejected."""
    _check_expected_version(state, command)
    name = command.name
    if name == "CreateOrder":
        if state is not None:
            raise CommandRejected("duplicate_order", f"order {state.order_id} already exists")
        items = [dict(i) for i in command["items"]]
        _validate_items(items)
        total = sum(i["quantity"] * i["unit_price_cents"] for i in items)
        return [
            _event(
                "OrderCreated",
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
    if name == "ConfirmOrder":
        _require(state, command, {PENDING})
        return [_event("OrderConfirmed", state, command, now_ms)]
    if name == "CancelOrder":
        if state is not None and state.status == SHIPPED:
            raise CommandRejected("already_shipped", "a shipped order cannot be cancelled")
        _require(state, command, {PENDING, CONFIRMED})
        return [_event("OrderCancelled", state, command, now_ms, reason=command["reason"])]
    if name == "ShipOrder":
        _require(state, command, {CONFIRMED})
        return [
            _event(
                "OrderShipped", state, command, now_ms, tracking_number=command["tracking_number"]
            )
        ]
    if name == "DeliverOrder":
        _require(state, command, {SHIPPED})
        return [_event("OrderDelivered", state, command, now_ms)]
    raise CommandRejected("unknown_command", f"no rule for command {name}")


def evolve(state: Order | None, event: Message) -> Order:
    """The state after ``event``; the only place order events are folded."""
    body = event.body
    at = body["occurred_at"]
    if event.name == "OrderCreated":
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
    if event.name == "OrderConfirmed":
        return replace(state, status=CONFIRMED, **common)
    if event.name == "OrderCancelled":
        return replace(state, status=CANCELLED, cancel_reason=body["reason"], **common)
    if event.name == "OrderShipped":
        return replace(state, status=SHIPPED, tracking_number=body["tracking_number"], **common)
    if event.name == "OrderDelivered":
        return replace(state, status=DELIVERED, **common)
    # An event this code does not know yet (written by a newer aggregate) still takes a
    # place in the order's history, so the next version number stays gapless.
    return replace(state, **common)


def fold(events: Iterable[Message], state: Order | None = None) -> Order | None:
    """Fold events from ``state`` (None, or a snapshot's state) onwards."""
    for event in events:
        state = evolve(state, event)
    return state
