"""The command a saga sends for a ``sent`` record: pure, built from the saga's state.

Participant commands carry the step's idempotency key (saga + step, the same on every
retry) and a command id per sending. Order commands (ConfirmOrder, CancelOrder) reuse one
command id per step instead, because the order aggregate deduplicates by command id.
"""

from __future__ import annotations

import uuid
from typing import Any

from processors.saga.state import COMMAND, Saga, idempotency_key
from streams.messages import Message, Record

_NAMESPACE = uuid.UUID("5d1f5a8e-41b7-4b7f-8a3e-2f9f0f6e0c33")

# Where each command goes: the logical topic name.
DESTINATION: dict[str, str] = {
    Record.CHARGE_PAYMENT: "payments.commands",
    Record.REFUND_PAYMENT: "payments.commands",
    Record.RESERVE_INVENTORY: "inventory.commands",
    Record.RELEASE_INVENTORY: "inventory.commands",
    Record.SCHEDULE_SHIPMENT: "shipping.commands",
    Record.CANCEL_SHIPMENT: "shipping.commands",
    Record.CONFIRM_ORDER: "orders.commands",
    Record.CANCEL_ORDER: "orders.commands",
}


def command_id_for(key: str, attempt: int | None) -> str:
    suffix = "" if attempt is None else f":{attempt}"
    return str(uuid.uuid5(_NAMESPACE, key + suffix))


def command_for(saga: Saga, record: Message) -> Message | None:
    """The command to send for ``record``, or None when the record sends nothing."""
    if record.name != Record.SAGA_STEP_RECORDED or record["outcome"] != "sent":
        return None
    step, attempt = record["step"], record["attempt"]
    name = COMMAND[step]
    key = idempotency_key(saga.saga_id, step)
    if name in (Record.CONFIRM_ORDER, Record.CANCEL_ORDER):
        body = {
            "command_id": command_id_for(key, None),
            "order_id": saga.order_id,
            "expected_version": None,
            "issued_at": record["occurred_at"],
            "correlation_id": saga.correlation_id,
        }
        if name == Record.CANCEL_ORDER:
            body["reason"] = saga.reason or "the order could not be fulfilled"
        return Message(name, body)
    body = {
        "command_id": command_id_for(key, attempt),
        "order_id": saga.order_id,
        "saga_id": saga.saga_id,
        "idempotency_key": key,
        "attempt": attempt,
        "issued_at": record["occurred_at"],
        "correlation_id": saga.correlation_id,
    }
    return Message(name, {**body, **_payload(saga, step)})


def _payload(saga: Saga, step: str) -> dict[str, Any]:
    items = [{"sku": i["sku"], "quantity": i["quantity"]} for i in saga.items]
    reason = saga.reason or "order cancelled"
    if step == "charge":
        return {
            "user_id": saga.user_id,
            "amount_cents": saga.amount_cents,
            "currency": saga.currency,
        }
    if step == "refund":
        return {
            "charge_key": idempotency_key(saga.saga_id, "charge"),
            "amount_cents": saga.amount_cents,
            "currency": saga.currency,
            "reason": reason,
        }
    if step == "reserve":
        return {"items": items}
    if step == "release":
        return {"reservation_key": idempotency_key(saga.saga_id, "reserve"), "reason": reason}
    if step == "schedule":
        return {"user_id": saga.user_id, "items": items}
    if step == "cancel_shipment":
        return {"shipment_key": idempotency_key(saga.saga_id, "schedule"), "reason": reason}
    raise ValueError(f"no command for step {step!r}")
