"""Given an order event, the Redis handler says which fields to set at which version."""

from __future__ import annotations

import json

import pytest

from processors.projections.order_status import STATUS_AFTER
from processors.projections.position import SourceEvent
from processors.projections.redis_orders import HANDLERS, OrderUpdate
from streams.messages import Message

pytestmark = pytest.mark.unit

AT = 1_767_225_600_000
ITEMS = [{"sku": "SKU-1", "quantity": 2, "unit_price_cents": 1250}]


def event(name: str, version: int, **payload) -> SourceEvent:
    body = {
        "event_id": f"e{version}",
        "order_id": "o1",
        "version": version,
        "occurred_at": AT + version,
        "correlation_id": "c",
        "causation_id": "k",
        **payload,
    }
    return SourceEvent(Message(name, body), "orders.events", 0, version, AT)


def test_every_order_event_has_a_handler():
    assert set(HANDLERS) == set(STATUS_AFTER)


def test_created_sets_the_whole_order_and_lists_it_for_its_user():
    [update] = HANDLERS["OrderCreated"](
        event("OrderCreated", 1, user_id="u1", items=ITEMS, currency="EUR", total_cents=2500)
    )
    fields = dict(update.fields)
    assert (update.order_id, update.version, update.status) == ("o1", 1, "pending")
    assert (update.user_id, update.created_at, update.updated_at) == ("u1", AT + 1, AT + 1)
    assert json.loads(fields.pop("items")) == ITEMS
    assert fields == {"user_id": "u1", "total_cents": "2500", "currency": "EUR"}


@pytest.mark.parametrize(
    ("name", "payload", "status", "extra"),
    [
        ("OrderConfirmed", {}, "confirmed", {}),
        (
            "OrderCancelled",
            {"reason": "out of stock"},
            "cancelled",
            {"cancel_reason": "out of stock"},
        ),
        ("OrderShipped", {"tracking_number": "TRK-1"}, "shipped", {"tracking_number": "TRK-1"}),
        ("OrderDelivered", {}, "delivered", {}),
    ],
)
def test_later_events_set_their_status_and_only_their_own_fields(name, payload, status, extra):
    [update] = HANDLERS[name](event(name, 3, **payload))
    assert update == OrderUpdate("o1", 3, status, AT + 3, fields=tuple(extra.items()))
    assert update.user_id is None and update.created_at is None
