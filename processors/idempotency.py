"""What every saga participant shares: replies keyed by idempotency key. Pure, no Faust.

A participant keeps, per order, the reply it gave to each idempotency key. A command
whose key it has answered before gets that same reply again (same event id, same body)
and has no second effect. Reply ids derive from the key, so even a reply re-sent after
a crash is recognisably the same reply.

The per-order state is a JSON dict: ``{"version": n, "replies": {key: {"name", "body"}}}``
plus whatever the participant folds into it (charges, reservations, bookings).
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Callable
from typing import Any

from streams.messages import Message

_NAMESPACE = uuid.UUID("a3c0c7e4-5c2f-4a51-bb0e-0d6b8f6f1e92")

Ledger = dict[str, Any]
Decide = Callable[[Ledger, Message, int], Message]
Evolve = Callable[[Ledger, Message], Ledger]


def empty_ledger() -> Ledger:
    return {"version": 0, "replies": {}}


def answered(ledger: Ledger | None, key: str) -> Message | None:
    """The reply already given to ``key``, if any."""
    stored = (ledger or {}).get("replies", {}).get(key)
    return Message(stored["name"], stored["body"]) if stored else None


def reply(name: str, command: Message, ledger: Ledger, now_ms: int, **payload: Any) -> Message:
    """A reply event to ``command``: the event envelope, the saga reference, ``payload``."""
    key = command["idempotency_key"]
    return Message(
        name,
        {
            "event_id": str(uuid.uuid5(_NAMESPACE, key)),
            "order_id": command["order_id"],
            "version": ledger["version"] + 1,
            "occurred_at": now_ms,
            "correlation_id": command["correlation_id"],
            "causation_id": command["command_id"],
            "saga_id": command["saga_id"],
            "idempotency_key": key,
            **payload,
        },
    )


def remember(ledger: Ledger, event: Message) -> Ledger:
    """``ledger`` with ``event`` stored as the answer to its idempotency key."""
    replies = {
        **ledger["replies"],
        event["idempotency_key"]: {"name": event.name, "body": event.body},
    }
    return {**ledger, "version": event["version"], "replies": replies}


def handle(
    ledger: Ledger | None, command: Message, now_ms: int, decide: Decide, evolve: Evolve
) -> tuple[Ledger | None, Message]:
    """The ledger after ``command`` and the reply to send: the first reply again for a
    known key (ledger unchanged), else ``decide``'s reply folded in with ``evolve``."""
    first = answered(ledger, command["idempotency_key"])
    if first is not None:
        return ledger, first
    ledger = ledger or empty_ledger()
    event = decide(ledger, command, now_ms)
    return remember(evolve(ledger, event), event), event


def share_of(order_id: str) -> float:
    """A stable number in [0, 1) for an order id: failure rates that replay identically."""
    return (zlib.crc32(order_id.encode()) % 10_000) / 10_000
