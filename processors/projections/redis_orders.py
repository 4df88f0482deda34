"""Redis projection of orders: a dispatch table from event name to a pure handler.

A handler turns one event into ``OrderUpdate`` values; ``sinks.redis_sink.RedisSink``
applies them with one server-side script that checks the order's version, so the
handlers need no knowledge of what Redis already holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import orjson

from processors.projections.order_status import STATUS_AFTER
from processors.projections.position import SourceEvent
from streams.messages import Record


class OrderUpdate(NamedTuple):
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


def coalesce(updates: Iterable[OrderUpdate]) -> list[OrderUpdate]:
    """One update per order, equal in effect to applying ``updates`` one by one.

    An order's updates merge into one at its highest version: that version's status and
    time, every update's fields (a later version's value wins), the user and creation
    time of the ``OrderCreated`` among them. The server applies the merged update only if
    its version is newer than the stored one, and then rewrites fields an older update
    already stored with the values it stored (events never change), so the result and
    the status counts are those of the one-by-one path, for fewer writes. Orders keep the
    order of their first update.
    """
    by_order: dict[str, list[OrderUpdate]] = {}
    for update in updates:
        by_order.setdefault(update.order_id, []).append(update)
    merged = []
    for group in by_order.values():
        if len(group) > 1:
            group.sort(key=lambda u: u.version)
            fields: dict[str, str] = {}
            for update in group:
                fields.update(update.fields)
            created = next((u for u in group if u.user_id is not None), group[-1])
            group[-1] = group[-1]._replace(
                fields=tuple(fields.items()), user_id=created.user_id, created_at=created.created_at
            )
        merged.append(group[-1])
    return merged


def _update(event: SourceEvent, *fields: tuple[str, str], **extra: Any) -> list[OrderUpdate]:
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
        ("items", orjson.dumps(items).decode()),
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
    Record.ORDER_CREATED: add_order,
    Record.ORDER_CONFIRMED: mark_confirmed,
    Record.ORDER_CANCELLED: mark_cancelled,
    Record.ORDER_SHIPPED: mark_shipped,
    Record.ORDER_DELIVERED: mark_delivered,
}
