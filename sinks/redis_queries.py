"""Reads on the Redis order model. Values reach Redis only as key names and arguments,
never as script or command text. Results are plain JSON-ready dicts."""

from __future__ import annotations

import json
from typing import Any

import redis

from processors.projections.order_status import STATUSES
from sinks.redis_keys import order_key, status_counts_key, user_orders_key

_INT_FIELDS = ("version", "total_cents", "created_at", "updated_at")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _order(raw: dict) -> dict | None:
    if not raw:
        return None
    order: dict[str, Any] = {_text(k): _text(v) for k, v in raw.items()}
    for name in _INT_FIELDS:
        if name in order:
            order[name] = int(order[name])
    if "items" in order:
        order["items"] = json.loads(order["items"])
    return order


def get_order(client: redis.Redis, prefix: str, order_id: str) -> dict | None:
    """One order's details, or ``None`` if the read model has never seen it."""
    return _order(client.hgetall(order_key(prefix, order_id)))


def list_user_orders(
    client: redis.Redis, prefix: str, user_id: str, page: int = 1, limit: int = 20
) -> list[dict]:
    """A user's orders, newest first; ``page`` counts from 1. Two round trips."""
    if page < 1 or limit < 1:
        raise ValueError("page and limit must be at least 1")
    start = (page - 1) * limit
    ids = client.zrevrange(user_orders_key(prefix, user_id), start, start + limit - 1)
    if not ids:
        return []
    pipe = client.pipeline(transaction=False)
    for order_id in ids:
        pipe.hgetall(order_key(prefix, _text(order_id)))
    return [order for order in map(_order, pipe.execute()) if order is not None]


def count_user_orders(client: redis.Redis, prefix: str, user_id: str) -> int:
    """How many orders a user has placed (for paging)."""
    return int(client.zcard(user_orders_key(prefix, user_id)))


def status_counts(client: redis.Redis, prefix: str) -> dict[str, int]:
    """Number of orders in each status, every known status present (zero if none)."""
    raw = {_text(k): int(v) for k, v in client.hgetall(status_counts_key(prefix)).items()}
    counts = {status: raw.pop(status, 0) for status in STATUSES}
    counts.update(raw)
    return counts


def count_orders(client: redis.Redis, prefix: str) -> int:
    """Number of orders in the read model (each is in exactly one status)."""
    return sum(status_counts(client, prefix).values())
