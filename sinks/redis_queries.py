"""Reads on the Redis order model. Values reach Redis only as key names and arguments,
never as script or command text. Results are plain JSON-ready dicts."""

from __future__ import annotations

import json
import time
from typing import Any

import redis

from processors.projections.order_status import STATUSES
from sinks.redis_keys import (
    generation_prefix,
    order_key,
    read_generation,
    status_counts_key,
    user_orders_key,
)

_INT_FIELDS = ("version", "total_cents", "created_at", "updated_at")

# How long a reader trusts the generation pointer it last read. A rebuild keeps the old
# generation for longer than this after a swap (``streams.ops.replay.shadow``), so a reader
# with a stale pointer still reads a complete model, just for at most this long.
GENERATION_CACHE_SECONDS = 1.0
_generations: dict[tuple, tuple[int, float]] = {}


def live_prefix(client: redis.Redis, prefix: str) -> str:
    """The key prefix of the generation that is live now (pointer cached briefly)."""
    cache_key = _cache_key(client, prefix)
    now = time.monotonic()
    cached = _generations.get(cache_key)
    if cached is None or cached[1] <= now:
        cached = (read_generation(client, prefix), now + GENERATION_CACHE_SECONDS)
        _generations[cache_key] = cached
    return generation_prefix(prefix, cached[0])


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
    prefix = live_prefix(client, prefix)
    return _order(client.hgetall(order_key(prefix, order_id)))


def list_user_orders(
    client: redis.Redis, prefix: str, user_id: str, page: int = 1, limit: int = 20
) -> list[dict]:
    """A user's orders, newest first; ``page`` counts from 1. Two round trips."""
    if page < 1 or limit < 1:
        raise ValueError("page and limit must be at least 1")
    prefix = live_prefix(client, prefix)
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
    prefix = live_prefix(client, prefix)
    return int(client.zcard(user_orders_key(prefix, user_id)))


def status_counts(client: redis.Redis, prefix: str) -> dict[str, int]:
    """Number of orders in each status, every known status present (zero if none)."""
    prefix = live_prefix(client, prefix)
    raw = {_text(k): int(v) for k, v in client.hgetall(status_counts_key(prefix)).items()}
    counts = {status: raw.pop(status, 0) for status in STATUSES}
    counts.update(raw)
    return counts


def count_existing(client: redis.Redis, prefix: str, order_ids: list[str]) -> int:
    """How many of ``order_ids`` the read model holds (one pipelined round trip)."""
    prefix = live_prefix(client, prefix)
    pipe = client.pipeline(transaction=False)
    for order_id in order_ids:
        pipe.exists(order_key(prefix, order_id))
    return sum(pipe.execute())


def count_orders(client: redis.Redis, prefix: str) -> int:
    """Number of orders in the read model (each is in exactly one status)."""
    return sum(status_counts(client, prefix).values())


def all_orders(client: redis.Redis, prefix: str, chunk: int = 1000) -> dict[str, dict]:
    """Every order of the read model by id (for drift checks): SCAN, then pipelined reads."""
    prefix = live_prefix(client, prefix)
    pattern = order_key(prefix, "*")
    found: dict[str, dict] = {}
    keys = [_text(k) for k in client.scan_iter(match=pattern, count=chunk)]
    for start in range(0, len(keys), chunk):
        pipe = client.pipeline(transaction=False)
        for key in keys[start : start + chunk]:
            pipe.hgetall(key)
        for key, raw in zip(keys[start : start + chunk], pipe.execute(), strict=True):
            order = _order(raw)
            if order is not None:
                found[order.get("order_id") or key[len(order_key(prefix, "")) :]] = order
    return found


def forget_generation(client: redis.Redis, prefix: str) -> None:
    """Drop this process's cached pointer (the process that swapped reads the new one now)."""
    _generations.pop(_cache_key(client, prefix), None)


def _cache_key(client: redis.Redis, prefix: str) -> tuple:
    pool = client.connection_pool.connection_kwargs
    return (pool.get("host"), pool.get("port"), pool.get("path"), pool.get("db"), prefix)
