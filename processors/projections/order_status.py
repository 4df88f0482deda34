"""The order status each order event leads to, shared by every read model.

pending (after OrderCreated) -> confirmed | cancelled; confirmed -> shipped | cancelled;
shipped -> delivered.
"""

from __future__ import annotations

STATUS_AFTER: dict[str, str] = {
    "OrderCreated": "pending",
    "OrderConfirmed": "confirmed",
    "OrderCancelled": "cancelled",
    "OrderShipped": "shipped",
    "OrderDelivered": "delivered",
}

STATUSES: tuple[str, ...] = ("pending", "confirmed", "cancelled", "shipped", "delivered")
