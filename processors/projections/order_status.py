"""The order status each order event leads to, shared by every read model.

pending (after OrderCreated) -> confirmed | cancelled; confirmed -> shipped | cancelled;
shipped -> delivered.
"""

from __future__ import annotations

from processors.orders.domain import OrderStatus
from streams.messages import Record

STATUS_AFTER: dict[str, str] = {
    Record.ORDER_CREATED: OrderStatus.PENDING,
    Record.ORDER_CONFIRMED: OrderStatus.CONFIRMED,
    Record.ORDER_CANCELLED: OrderStatus.CANCELLED,
    Record.ORDER_SHIPPED: OrderStatus.SHIPPED,
    Record.ORDER_DELIVERED: OrderStatus.DELIVERED,
}

STATUSES: tuple[str, ...] = tuple(OrderStatus)
