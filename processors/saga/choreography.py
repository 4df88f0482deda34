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

A reacting service remembers the order's facts (amount, items, customer) from
``OrderCreated``; an event that overtakes its ``OrderCreated`` waits in the same memory.
The observer (``observe``) folds every event into the same saga timeline the
orchestrator keeps, so ``orderflow saga``, ClickHouse and the notification work alike.
"""

from __future__ import annotations

from typing import Any

from processors.saga.commands import command_for
from processors.saga.decide import Recorder
from processors.saga.state import (
    COMPENSATED,
    COMPENSATING,
    COMPLETED,
    RUNNING,
    Saga,
    saga_id_for,
)
from streams.messages import Message, Record

# Event -> (reacting service, the step it takes).
REACTIONS: dict[str, tuple[str, str]] = {
    Record.ORDER_CREATED: ("payment", "charge"),
    Record.PAYMENT_CHARGED: ("inventory", "reserve"),
    Record.INVENTORY_RESERVED: ("shipping", "schedule"),
    Record.SHIPMENT_SCHEDULED: ("orders", "confirm"),
    Record.PAYMENT_DECLINED: ("orders", "cancel_order"),
    Record.INVENTORY_RESERVATION_FAILED: ("payment", "refund"),
    Record.SHIPMENT_FAILED: ("inventory", "release"),
    Record.INVENTORY_RELEASED: ("payment", "refund"),
    Record.PAYMENT_REFUNDED: ("orders", "cancel_order"),
}


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
    if REACTIONS.get(event.name, ("",))[0] != service:
        return memory, []
    if memory is None or "order_id" not in memory:
        # Overtook its OrderCreated: wait for it.
        waiting = [*(memory or {}).get("waiting", []), (event.name, event.body)]
        return {"waiting": waiting}, []
    return memory, _command(service, memory, event, now_ms)


def _command(service: str, memory: dict, event: Message, now_ms: int) -> list[Message]:
    reacting, step = REACTIONS.get(event.name, ("", ""))
    if reacting != service:
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
    if saga is None or event.name not in OBSERVED or saga.status in (COMPLETED, COMPENSATED):
        return []
    step, outcome = OBSERVED[event.name]
    if any(e["step"] == step and e["outcome"] == outcome for e in saga.timeline):
        return []  # a duplicate delivery
    failing = outcome == "failed" or saga.status == COMPENSATING
    state = COMPENSATING if failing else RUNNING
    reply = {"reply": event.name, "reason": event.get("reason") or "", "attempt": 1}
    rec.step(step, outcome, state, **reply)
    if event.name == Record.ORDER_CONFIRMED:
        rec.step("saga", "completed", COMPLETED, attempt=0)
        _notify(rec, "order_confirmed", "Your order is confirmed and will ship soon.")
    elif event.name == Record.ORDER_CANCELLED:
        rec.step("saga", "compensated", COMPENSATED, attempt=0, reason=event.get("reason") or "")
        _notify(rec, "order_cancelled", f"Your order was cancelled: {event.get('reason')}.")
    return rec.records


def _notify(rec: Recorder, kind: str, message: str) -> None:
    s = rec.state
    if kind not in s.notified:
        rec.add(
            Record.CUSTOMER_NOTIFIED, s.saga_id, s.order_id, s.correlation_id,
            user_id=s.user_id, kind=kind, message=message,
        )  # fmt: skip
