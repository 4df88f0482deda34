"""Redis writer for the order read model: one version-checked Lua call per update,
pipelined so a whole batch costs one round trip."""

from __future__ import annotations

import time
from collections.abc import Iterable

import redis

from processors.projections.redis_orders import HANDLERS, OrderUpdate
from sinks.redis_keys import (
    current_generation_key,
    generation_prefix,
    order_key,
    read_generation,
    status_counts_key,
    user_orders_key,
)

# KEYS: generation pointer, order hash, status counts hash, [user's orders zset (OrderCreated)]
# ARGV: generation, version, status, order_id, updated_at, created_at, field, value, ...
# The generation check makes a full rebuild's swap atomic for writers: an update aimed at
# a generation that is no longer live returns -1 and the sink re-sends it to the new one
# (ARGV[1] = '' skips the check: a rebuild writing its shadow generation).
# The version check runs on the server, atomically with the writes it guards: an update
# no newer than the stored order is dropped whole, so a redelivered or replayed event
# neither moves the order backwards nor moves a status counter twice.
APPLY_ORDER_UPDATE = """
if ARGV[1] ~= '' and (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then
  return -1
end
local stored = tonumber(redis.call('HGET', KEYS[2], 'version')) or 0
local version = tonumber(ARGV[2])
if version <= stored then
  return 0
end
local old = redis.call('HGET', KEYS[2], 'status')
local new = ARGV[3]
if old ~= new then
  if old then
    redis.call('HINCRBY', KEYS[3], old, -1)
  end
  redis.call('HINCRBY', KEYS[3], new, 1)
end
redis.call('HSET', KEYS[2], 'version', ARGV[2], 'status', new, 'order_id', ARGV[4],
  'updated_at', ARGV[5], unpack(ARGV, 7))
if KEYS[4] then
  redis.call('HSET', KEYS[2], 'created_at', ARGV[6])
  redis.call('ZADD', KEYS[4], ARGV[6], ARGV[4])
end
return 1
"""

# A writer that follows the pointer re-reads it at most this often when nothing is stale.
_GENERATION_RECHECK_SECONDS = 5.0


class RedisSink:
    """Buffers ``OrderUpdate`` writes and applies them with the ``APPLY_ORDER_UPDATE``
    script. Idempotent because every update is version-checked on the server.

    By default the sink writes the live generation named by ``{prefix}current`` (see
    ``sinks.redis_keys``); the server refuses a write aimed at a generation that is no
    longer live, and the sink then re-reads the pointer and re-sends it, so after a swap
    every write lands in the new generation. ``generation=N`` pins the sink to one
    generation without that check (a rebuild filling its shadow).
    """

    handlers = HANDLERS

    def __init__(self, client: redis.Redis, prefix: str, generation: int | None = None) -> None:
        self._client = client
        self._prefix = prefix
        self._pinned = generation
        self._generation = generation if generation is not None else read_generation(client, prefix)
        self._checked_at = time.monotonic()
        self._script = client.register_script(APPLY_ORDER_UPDATE)
        self._pending: list[OrderUpdate] = []
        self.applied = 0
        """Updates that changed Redis in the last flush (the others were not newer)."""

    def add(self, writes: Iterable[OrderUpdate]) -> None:
        self._pending.extend(writes)

    def flush(self) -> int:
        if not self._pending:
            return 0
        batch = self._pending
        applied = 0
        todo = batch
        while todo:
            try:
                results = self._send(todo)
            except redis.exceptions.NoScriptError:
                # A restarted or flushed server lost the script; loading it and sending
                # the whole batch again is safe because applied updates are no-ops.
                self._client.script_load(APPLY_ORDER_UPDATE)
                results = self._send(todo)
            applied += sum(1 for r in results if r == 1)
            # Updates refused as aimed at an old generation go again, in their order.
            todo = [u for u, r in zip(todo, results, strict=True) if r == -1]
            if todo:
                self._generation = read_generation(self._client, self._prefix)
                self._checked_at = time.monotonic()
        self._pending = []
        self.applied = applied
        return len(batch)

    def close(self) -> None:
        self.flush()

    def _send(self, batch: list[OrderUpdate]) -> list:
        # EVALSHA straight into a plain pipeline: redis-py's Script-in-pipeline path
        # adds a SCRIPT EXISTS round trip to every execute.
        pipe = self._client.pipeline(transaction=False)
        sha = self._script.sha
        if (
            self._pinned is None
            and time.monotonic() - self._checked_at > _GENERATION_RECHECK_SECONDS
        ):
            # Not needed for correctness (the server checks); saves a refused round trip.
            self._generation = read_generation(self._client, self._prefix)
            self._checked_at = time.monotonic()
        prefix = generation_prefix(self._prefix, self._generation)
        expected = "" if self._pinned is not None else str(self._generation)
        pointer = current_generation_key(self._prefix)
        counts = status_counts_key(prefix)
        for update in batch:
            keys = [pointer, order_key(prefix, update.order_id), counts]
            if update.user_id is not None:
                keys.append(user_orders_key(prefix, update.user_id))
            args = [
                expected,
                update.version,
                update.status,
                update.order_id,
                update.updated_at,
                update.created_at or 0,
            ]
            for field, value in update.fields:
                args.append(field)
                args.append(value)
            pipe.evalsha(sha, len(keys), *keys, *args)
        return pipe.execute()
