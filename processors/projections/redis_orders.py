"""Redis projection of orders: a dispatch table from event name to a pure handler.

A handler turns one event into ``OrderUpdate`` values; ``sinks.redis_sink.RedisSink``
applies them with one server-side script that checks the order's version, so the
handlers need no knowledge of what Redis already holds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from processors.projections.order_status import STATUS_AFTER
from processors.projections.position import SourceEvent


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """Set ``status``, ``updated_at`` and ``fields`` on an order (the order's hash also
    records ``order_id`` and ``version``), provided ``version`` is newer than the stored one.

    ``user_id`` and ``created_at`` are set only by ``OrderCreated``: they add the order
    to the user's list, ranked by creation time, and store ``created_at``.
    """

    order_id: str
    version: int
    status: str
    updated_at: int
    fields: tuple[tuple[str, str], ...] = ()
    user_id: str | None = None
    created_at: int | None = None


Handler = Callable[[SourceEvent], Sequence[OrderUpdate]]


def _update(event: SourceEvent, *fields: tuple[str, str], **extra) -> list[OrderUpdate]:
    body = event.body
    return [
        OrderUpdate(
            order_id=body["order_id"],
            version=int(body["version"]),
            status=STATUS_AFTER[event.name],
            updated_at=int(body["occurred_at"]),
            fields=fields,
            **extra,
        )
    ]


def add_order(event: SourceEvent) -> list[OrderUpdate]:
    """OrderCreated: the whole order, and its place in the user's list."""
    body = event.body
    items = [
        {
            "sku": item["sku"],
            "quantity": int(item["quantity"]),
            "unit_price_cents": int(item["unit_price_cents"]),
        }
        for item in body["items"]
    ]
    return _update(
        event,
        ("user_id", body["user_id"]),
        ("items", json.dumps(items, separators=(",", ":"))),
        ("total_cents", str(body["total_cents"])),
        ("currency", body["currency"]),
        user_id=body["user_id"],
        created_at=int(body["occurred_at"]),
    )


def mark_confirmed(event: SourceEvent) -> list[OrderUpdate]:
    """OrderConfirmed: status only."""
    return _update(event)


def mark_cancelled(event: SourceEvent) -> list[OrderUpdate]:
    """OrderCancelled: status and the reason given."""
    return _update(event, ("cancel_reason", event.body.get("reason") or ""))


def mark_shipped(event: SourceEvent) -> list[OrderUpdate]:
    """OrderShipped: status and the carrier's tracking number."""
    return _update(event, ("tracking_number", event.body.get("tracking_number") or ""))


def mark_delivered(event: SourceEvent) -> list[OrderUpdate]:
    """OrderDelivered: status only."""
    return _update(event)


HANDLERS: dict[str, Handler] = {
    "OrderCreated": add_order,
    "OrderConfirmed": mark_confirmed,
    "OrderCancelled": mark_cancelled,
    "OrderShipped": mark_shipped,
    "OrderDelivered": mark_delivered,
}
