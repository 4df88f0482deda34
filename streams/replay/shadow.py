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

from processors.projections.agents import feed
from processors.projections.position import SourceEvent
from sinks import redis_queries
from sinks.clickhouse_schema import (
    FACT_TABLES,
    database_exists,
    drop_schema,
    ensure_schema,
    exchange_tables,
    shadow_database,
)
from sinks.clickhouse_sink import ClickHouseSink
from sinks.redis_generations import (
    drop_generation,
    promote_orders,
    recount_statuses,
    swap_generation,
)
from sinks.redis_keys import order_key, read_generation, status_counts_key
from sinks.redis_sink import RedisSink

GRACE_SECONDS = 2 * redis_queries.GENERATION_CACHE_SECONDS
REPAIR_BATCH = 20_000


class RedisTarget:
    """The Redis order model under ``prefix``: shadow generations and order repairs."""

    name = "redis"

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client, self.prefix = client, prefix
        self.live = read_generation(client, prefix)
        self.shadow: int | None = None
        self.swapped_at: float | None = None
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
        scratch = f"{self.prefix}repair:{uuid.uuid4().hex[:12]}:"
        try:
            sink = RedisSink(self.client, scratch, generation=0)
            for start in range(0, len(history), REPAIR_BATCH):
                feed(sink, history[start : start + REPAIR_BATCH])
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


class ClickHouseTarget:
    """The ClickHouse order model in ``database``: a shadow database and the swap."""

    name = "clickhouse"

    def __init__(self, client, database: str) -> None:
        self.client, self.database = client, database
        self.shadow = shadow_database(database)
        self.swapped = False

    def has_model(self) -> bool:
        return database_exists(self.client, self.database)

    def shadow_sink(self) -> ClickHouseSink:
        """An empty shadow database (any left by an interrupted run is dropped first)."""
        drop_schema(self.client, self.shadow)
        return ClickHouseSink(self.client, self.shadow)

    def live_sink(self) -> ClickHouseSink:
        return ClickHouseSink(self.client, self.database)

    def swap(self) -> None:
        ensure_schema(self.client, self.database)
        exchange_tables(self.client, self.database, self.shadow)
        self.swapped = True

    def finish(self) -> None:
        if self.swapped:
            drop_schema(self.client, self.shadow)

    def repair(self, order_ids: set[str], history: Sequence[SourceEvent]) -> int:
        """Build the shadow as the live facts minus ``order_ids`` plus their whole
        ``history`` from the log, then swap: the derived tables are recomputed by the
        materialized views on the way in, so wrong or missing rows of those orders (in
        any table) are replaced, and readers never see a half-repaired model."""
        sink = self.shadow_sink()
        self.client.command(
            f"CREATE TABLE `{self.shadow}`.replay_orders (order_id String) ENGINE = Memory"
        )
        ids = sorted(order_ids)
        for start in range(0, len(ids), 100_000):
            rows = [[i] for i in ids[start : start + 100_000]]
            self.client.insert("replay_orders", rows, database=self.shadow)
        for table in FACT_TABLES:
            self.client.command(
                f"INSERT INTO `{self.shadow}`.{table} SELECT * FROM `{self.database}`.{table} "
                f"FINAL WHERE order_id NOT IN (SELECT order_id FROM `{self.shadow}`.replay_orders)",
                settings={"async_insert": 0},
            )
        for start in range(0, len(history), REPAIR_BATCH):
            feed(sink, history[start : start + REPAIR_BATCH])
        self.swap()
        return len(order_ids)
