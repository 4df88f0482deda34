"""Replay targets: the shadow a full rebuild fills and swaps in, and the repair of
single orders, for each read-model store.

Redis: generation N+1 of the key namespace is the shadow; the swap is one
compare-and-set of the pointer key, which ``RedisSink`` and ``sinks.redis_queries``
resolve. The old generation is dropped after ``GRACE_SECONDS`` (longer than readers
cache the pointer). ClickHouse: the shadow is a database with the same schema; the swap
is one ``EXCHANGE TABLES`` statement; the swapped-out tables are dropped with it.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence

import redis

from processors.projections.position import SourceEvent
from sinks import redis_queries
from sinks.redis_generations import (
    drop_generation,
    promote_orders,
    recount_statuses,
    swap_generation,
)
from sinks.redis_keys import order_key, read_generation, status_counts_key
from sinks.redis_sink import RedisSink
from streams.ops.replay.shadow_clickhouse import ClickHouseTarget
from streams.ops.replay.writers import feed_skipping

GRACE_SECONDS = 2 * redis_queries.GENERATION_CACHE_SECONDS
REPAIR_BATCH = 20_000  # events per feed when writing repaired histories


class RedisTarget:
    """The Redis order model under ``prefix``: shadow generations and order repairs."""

    name = "redis"

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client, self.prefix = client, prefix
        self.live = read_generation(client, prefix)
        self.shadow: int | None = None
        self.swapped_at: float | None = None
        self.refused = 0  # events of the last repair's history the store refused
        self._lock = f"{prefix}replay-lock"

    def lock(self) -> str | None:
        """Take the replay lock; returns who holds it if another replay does."""
        me = f"pid {os.getpid()}"
        if self.client.set(self._lock, me, nx=True, ex=6 * 3600):
            return None
        holder = self.client.get(self._lock)
        return holder.decode() if isinstance(holder, bytes) else str(holder)

    def unlock(self) -> None:
        self.client.delete(self._lock)

    def has_model(self) -> bool:
        """Whether a live model exists (its counters hash does once an order is in)."""
        gp = redis_queries.live_prefix(self.client, self.prefix)
        return bool(self.client.exists(status_counts_key(gp)))

    def shadow_sink(self) -> RedisSink:
        """An empty generation after the live one, and a sink pinned to it."""
        self.shadow = self.live + 1
        drop_generation(self.client, self.prefix, self.shadow)  # a run interrupted before
        return RedisSink(self.client, self.prefix, generation=self.shadow)

    def live_sink(self) -> RedisSink:
        return RedisSink(self.client, self.prefix)

    def swap(self) -> None:
        assert self.shadow is not None
        swap_generation(self.client, self.prefix, self.live, self.shadow)
        self.live, self.shadow = self.shadow, self.live
        self.swapped_at = time.monotonic()
        redis_queries.forget_generation(self.client, self.prefix)

    def finish(self) -> None:
        """After a swap: drop the old generation once no reader can still use it."""
        if self.swapped_at is None or self.shadow is None:
            return
        time.sleep(max(0.0, self.swapped_at + GRACE_SECONDS - time.monotonic()))
        drop_generation(self.client, self.prefix, self.shadow)

    def repair(self, order_ids: set[str], history: Sequence[SourceEvent]) -> int:
        """Rewrite ``order_ids`` in the live generation from their whole ``history``.

        The history goes through the live projection code into a scratch namespace
        (same handlers, same script), then each order's view is copied over the live
        one atomically with its counter move; at the end the counters are recounted
        from the order hashes, which also fixes counters an earlier fault skewed.
        """
        self.refused = 0
        scratch = f"{self.prefix}repair:{uuid.uuid4().hex[:12]}:"
        try:
            sink = RedisSink(self.client, scratch, generation=0)
            for start in range(0, len(history), REPAIR_BATCH):
                self.refused += feed_skipping(sink, history[start : start + REPAIR_BATCH])[1]
            ids = sorted(order_ids)
            pipe = self.client.pipeline(transaction=False)
            for order_id in ids:
                pipe.hget(order_key(scratch, order_id), "user_id")
            users = [u.decode() if isinstance(u, bytes) else u for u in pipe.execute()]
            live = read_generation(self.client, self.prefix)
            outcomes = promote_orders(
                self.client, self.prefix, live, scratch, zip(ids, users, strict=True)
            )
            recount_statuses(self.client, self.prefix, live)
            redis_queries.forget_generation(self.client, self.prefix)
            return outcomes.get(1, 0) + outcomes.get(2, 0)
        finally:
            drop_generation(self.client, scratch, 0)


__all__ = ["ClickHouseTarget", "RedisTarget"]
