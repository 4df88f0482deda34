"""Names of the Redis keys that make up the order read model (writer and readers share them)."""

from __future__ import annotations


def order_key(prefix: str, order_id: str) -> str:
    """Hash with one order's details."""
    return f"{prefix}order:{order_id}"


def user_orders_key(prefix: str, user_id: str) -> str:
    """Sorted set of a user's order ids, scored by creation time (epoch ms)."""
    return f"{prefix}user_orders:{user_id}"


def status_counts_key(prefix: str) -> str:
    """Hash from order status to the number of orders currently in it."""
    return f"{prefix}order_status_counts"
