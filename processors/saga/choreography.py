"""Choreography (``SAGA_MODE=choreography``): the same outcomes by events alone. Pure.

No one steers. Each service reacts to the others' events with its own command, which
its participant agent (the same one the orchestrator uses, with the same idempotency
keys) carries out:

    OrderCreated          -> payment   charges
    PaymentCharged        -> inventory reserves
    InventoryReserved     -> shipping  schedules
    ShipmentScheduled     -> orders    confirm
    PaymentDeclined       -> orders    cancel
    InventoryReservationFailed -> payment refunds
    ShipmentFailed        -> inventory releases
    InventoryReleased     -> payment   refunds
    PaymentRefunded       -> orders    cancel
    OrderCancelled        -> payment   refunds, inventory releases, shipping cancels

The customer's OrderCancelled (at any point, also after the confirmation; not the one
the choreography's own CancelOrder causes, which ends an undo already complete) makes
every participant undo its step: a step not taken yet when its undo arrives is voided by
its key, so it fails if it comes later, and its failure's reactions repeat undos already
done under the same keys (their first replies again).

A reacting service remembers the order's facts (amount, items, customer) from
``OrderCreated``; an event that overtakes its ``OrderCreated`` waits in the same memory.
The observer (``observe``) folds every event into the same saga timeline the
orchestrator keeps, so ``orderflow saga``, ClickHouse and the notification work alike.
The order's last event ends the saga (OrderConfirmed: completed, OrderCancelled, also of
a completed saga: compensated); a reply read after it, which that event overtook on
another topic (or a step voided by the customer's cancel), is still recorded.
"""

from __future__ import annotations

from typing import Any

from processors.saga.commands import command_for, command_id_for
from processors.saga.decide import Recorder
from processors.saga.state import (
    COMPENSATED,
    COMPENSATING,
    COMPENSATION,
    COMPLETED,
    RUNNING,
    Saga,
    evolve,
    idempotency_key,
    saga_id_for,
)
from streams.messages import Message, Record

# Event -> {reacting service: the step it takes}.
REACTIONS: dict[str, dict[str, str]] = {
    Record.ORDER_CREATED: {"payment": "charge"},
    Record.PAYMENT_CHARGED: {"inventory": "reserve"},
    Record.INVENTORY_RESERVED: {"shipping": "schedule"},
    Record.SHIPMENT_SCHEDULED: {"orders": "confirm"},
    Record.PAYMENT_DECLINED: {"orders": "cancel_order"},
    Record.INVENTORY_RESERVATION_FAILED: {"payment": "refund"},
    Record.SHIPMENT_FAILED: {"inventory": "release"},
    Record.INVENTORY_RELEASED: {"payment": "refund"},
    Record.PAYMENT_REFUNDED: {"orders": "cancel_order"},
    Record.ORDER_CANCELLED: {"payment": "refund", "inventory": "release",
                             "shipping": "cancel_shipment"},
}  # fmt: skip


def facts_of(created: Message) -> dict[str, Any]:
    """What a reacting service remembers of an order."""
    body = created.body
    return {
        "order_id": body["order_id"],
        "correlation_id": body["correlation_id"],
        "user_id": body["user_id"],
        "amount_cents": body["total_cents"],
        "currency": body["currency"],
        "items": [{"sku": i["sku"], "quantity": int(i["quantity"])} for i in body["items"]],
        "waiting": [],
    }


def react(service: str, memory: dict | None, event: Message, now_ms: int):
    """``(memory after, commands)`` for ``service`` reading ``event``."""
    if event.name == Record.ORDER_CREATED:
        waiting = (memory or {}).get("waiting", [])
        memory = {**facts_of(event), "waiting": []}
        commands = _command(service, memory, event, now_ms)
        for name, body in waiting:
            commands += _command(service, memory, Message(name, body), now_ms)
        return memory, commands
    if service not in REACTIONS.get(event.name, {}) or cancelled_by_the_saga(event):
        return memory, []
    if memory is None or "order_id" not in memory:
        # Overtook its OrderCreated: wait for it (once: it may be delivered again).
        waiting = (memory or {}).get("waiting", [])
        if any(name == event.name and body == event.body for name, body in waiting):
            return memory, []
        return {"waiting": [*waiting, (event.name, event.body)]}, []
    return memory, _command(service, memory, event, now_ms)


def cancelled_by_the_saga(event: Message) -> bool:
    """An OrderCancelled the choreography's own CancelOrder caused (not the customer's)."""
    if event.name != Record.ORDER_CANCELLED:
        return False
    key = idempotency_key(saga_id_for(event["order_id"]), "cancel_order")
    return bool(event.get("causation_id") == command_id_for(key, None))


def _command(service: str, memory: dict, event: Message, now_ms: int) -> list[Message]:
    step = REACTIONS.get(event.name, {}).get(service)
    if step is None:
        return []
    saga = Saga(
        saga_id=saga_id_for(memory["order_id"]),
        order_id=memory["order_id"],
        mode="choreography",
        correlation_id=memory["correlation_id"],
        user_id=memory["user_id"],
        amount_cents=memory["amount_cents"],
        currency=memory["currency"],
        items=tuple(memory["items"]),
        reason=event.get("reason") or "",
    )
    sent = Message(
        Record.SAGA_STEP_RECORDED,
        {"outcome": "sent", "step": step, "attempt": 1, "occurred_at": now_ms},
    )
    command = command_for(saga, sent)
    return [command] if command is not None else []


# The observer ---------------------------------------------------------------------------

UNDOS = frozenset(COMPENSATION.values())  # refund, release, cancel_shipment

# Event -> (step, outcome) on the timeline.
OBSERVED: dict[str, tuple[str, str]] = {
    Record.PAYMENT_CHARGED: ("charge", "succeeded"),
    Record.PAYMENT_DECLINED: ("charge", "failed"),
    Record.INVENTORY_RESERVED: ("reserve", "succeeded"),
    Record.INVENTORY_RESERVATION_FAILED: ("reserve", "failed"),
    Record.SHIPMENT_SCHEDULED: ("schedule", "succeeded"),
    Record.SHIPMENT_FAILED: ("schedule", "failed"),
    Record.INVENTORY_RELEASED: ("release", "succeeded"),
    Record.PAYMENT_REFUNDED: ("refund", "succeeded"),
    Record.SHIPMENT_CANCELLED: ("cancel_shipment", "succeeded"),
    Record.ORDER_CONFIRMED: ("confirm", "succeeded"),
    Record.ORDER_CANCELLED: ("cancel_order", "succeeded"),
}


def observe(saga: Saga | None, event: Message, now_ms: int) -> list[Message]:
    """The timeline records ``event`` adds to the observed saga."""
    rec = Recorder(saga, now_ms, event.get("event_id") or "", "choreography")
    if event.name == Record.ORDER_CREATED:
        if saga is None:
            body = event.body
            items = [{"sku": i["sku"], "quantity": int(i["quantity"])} for i in body["items"]]
            rec.add(
                Record.SAGA_STARTED, saga_id_for(body["order_id"]), body["order_id"],
                body["correlation_id"], mode="choreography", user_id=body["user_id"],
                amount_cents=body["total_cents"], currency=body["currency"], items=items,
            )  # fmt: skip
        return rec.records
    if saga is None or event.name not in OBSERVED:
        return []
    step, outcome = OBSERVED[event.name]
    customer_cancel = event.name == Record.ORDER_CANCELLED and not cancelled_by_the_saga(event)
    if customer_cancel:
        step, outcome = "order", "order_cancelled"  # as the orchestrator records it
    if any(e["step"] == step and e["outcome"] == outcome for e in saga.timeline):
        return []  # a duplicate delivery
    reason = event.get("reason") or ""
    if saga.status == COMPENSATED or (saga.status == COMPLETED and not customer_cancel):
        # Over: a reply read after the order's last event (which overtook it from another
        # topic, or the customer's cancel voided its step) is still on the timeline.
        rec.step(step, outcome, saga.status, reply=event.name, reason=reason, attempt=1)
        return rec.records
    failing = outcome != "succeeded" or saga.status != RUNNING or step in UNDOS
    state = COMPENSATING if failing else RUNNING
    rec.step(step, outcome, state, reply=event.name, reason=reason, attempt=1)
    if event.name == Record.ORDER_CONFIRMED:
        rec.step("saga", "completed", COMPLETED, attempt=0)
        _notify(rec, "order_confirmed", "Your order is confirmed and will ship soon.")
    elif event.name == Record.ORDER_CANCELLED:
        # The order is over; undos still under way are recorded as they are read.
        reason = rec.state.reason if customer_cancel or not reason else reason
        rec.step("saga", "compensated", COMPENSATED, attempt=0, reason=reason)
        _notify(rec, "order_cancelled", f"Your order was cancelled: {reason}.")
    return rec.records


def _notify(rec: Recorder, kind: str, message: str) -> None:
    s = rec.state
    if kind not in s.notified:
        rec.add(
            Record.CUSTOMER_NOTIFIED, s.saga_id, s.order_id, s.correlation_id,
            user_id=s.user_id, kind=kind, message=message,
        )  # fmt: skip


def observe_in_order(
    saga: Saga | None, waiting: list[Any], event: Message, now_ms: int
) -> tuple[list[Message], list[Any]]:
    """``observe`` for the observer's agent, with the replies it reads before the order's
    OrderCreated (nothing orders two topics): they wait, once each however often they
    are delivered, in ``waiting`` (``[name, body]`` pairs, as the JSON table keeps them),
    and are observed in the order read right after OrderCreated starts the saga. Returns
    the records and what still waits."""
    if saga is None and event.name != Record.ORDER_CREATED:
        if event.name not in OBSERVED or [event.name, event.body] in waiting:
            return [], waiting
        return [], [*waiting, [event.name, event.body]]
    records = observe(saga, event, now_ms)
    if saga is not None or not records or not waiting:
        return records, waiting
    for record in records:
        saga = evolve(saga, record)
    for name, body in waiting:
        later = observe(saga, Message(name, body), now_ms)
        for record in later:
            saga = evolve(saga, record)
        records += later
    return records, []
