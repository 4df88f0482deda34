"""Shipping: book and cancel a carrier. Pure ``decide``/``evolve``, no Faust.

The ledger holds ``booked`` (schedule key -> shipment id) and ``void`` (bookings
cancelled before they were made). A shipment holding an unshippable SKU fails.
"""

from __future__ import annotations

import uuid

from processors.idempotency import Ledger, reply
from streams.messages import Message, Record

COMMANDS = frozenset({Record.SCHEDULE_SHIPMENT, Record.CANCEL_SHIPMENT})


def decide(ledger: Ledger, command: Message, now_ms: int, unshippable: frozenset[str]) -> Message:
    """The reply to a booking or cancellation the ledger has not answered yet."""
    if command.name == Record.CANCEL_SHIPMENT:
        key = command["shipment_key"]
        return reply(
            Record.SHIPMENT_CANCELLED, command, ledger, now_ms,
            shipment_key=key, shipment_id=ledger.get("booked", {}).get(key),
            reason=command["reason"],
        )  # fmt: skip
    if command["idempotency_key"] in ledger.get("void", ()):
        return _failed(command, ledger, now_ms, "voided", "cancelled before it was booked")
    blocked = sorted({i["sku"] for i in command["items"]} & unshippable)
    if blocked:
        reason = f"no carrier takes {', '.join(blocked)}"
        return _failed(command, ledger, now_ms, "unshippable", reason)
    shipment_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"shipment:{command['idempotency_key']}"))
    return reply(Record.SHIPMENT_SCHEDULED, command, ledger, now_ms, shipment_id=shipment_id)


def _failed(command: Message, ledger: Ledger, now_ms: int, code: str, reason: str) -> Message:
    return reply(Record.SHIPMENT_FAILED, command, ledger, now_ms, reason_code=code, reason=reason)


def evolve(ledger: Ledger, event: Message) -> Ledger:
    """Fold a shipping reply into the order's ledger."""
    booked = dict(ledger.get("booked", {}))
    void = list(ledger.get("void", ()))
    if event.name == Record.SHIPMENT_SCHEDULED:
        booked[event["idempotency_key"]] = event["shipment_id"]
    elif (
        event.name == Record.SHIPMENT_CANCELLED and booked.pop(event["shipment_key"], None) is None
    ):
        void.append(event["shipment_key"])
    return {**ledger, "booked": booked, "void": void}
