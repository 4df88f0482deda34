"""Redis writer for the order read model: one version-checked Lua call per update,
pipelined so a whole batch costs one round trip."""

from __future__ import annotations

from collections.abc import Iterable

import redis

from processors.projections.redis_orders import HANDLERS, OrderUpdate
from sinks.redis_keys import order_key, status_counts_key, user_orders_key

# KEYS: order hash, status counts hash, [user's orders zset (OrderCreated only)]
# ARGV: version, status, order_id, updated_at, created_at, field, value, field, value, ...
# The version check runs on the server, atomically with the writes it guards: an update
# no newer than the stored order is dropped whole, so a redelivered or replayed event
# neither moves the order backwards nor moves a status counter twice.
APPLY_ORDER_UPDATE = """
local stored = tonumber(redis.call('HGET', KEYS[1], 'version')) or 0
local version = tonumber(ARGV[1])
if version <= stored then
  return 0
end
local old = redis.call('HGET', KEYS[1], 'status')
local new = ARGV[2]
if old ~= new then
  if old then
    redis.call('HINCRBY', KEYS[2], old, -1)
  end
  redis.call('HINCRBY', KEYS[2], new, 1)
end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'status', new, 'order_id', ARGV[3],
  'updated_at', ARGV[4], unpack(ARGV, 6))
if KEYS[3] then
  redis.call('HSET', KEYS[1], 'created_at', ARGV[5])
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3])
end
return 1
"""


class RedisSink:
    """Buffers ``OrderUpdate`` writes and applies them with the ``APPLY_ORDER_UPDATE``
    script. Idempotent because every update is version-checked on the server."""

    handlers = HANDLERS

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._client = client
        self._prefix = prefix
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
        try:
            results = self._send(batch)
        except redis.exceptions.NoScriptError:
            # A restarted or flushed server lost the script; loading it and sending the
            # whole batch again is safe because already-applied updates are no-ops.
            self._client.script_load(APPLY_ORDER_UPDATE)
            results = self._send(batch)
        self._pending = []
        self.applied = sum(1 for r in results if r == 1)
        return len(batch)

    def close(self) -> None:
        self.flush()

    def _send(self, batch: list[OrderUpdate]) -> list:
        # EVALSHA straight into a plain pipeline: redis-py's Script-in-pipeline path
        # adds a SCRIPT EXISTS round trip to every execute.
        pipe = self._client.pipeline(transaction=False)
        sha = self._script.sha
        counts = status_counts_key(self._prefix)
        for update in batch:
            keys = [order_key(self._prefix, update.order_id), counts]
            if update.user_id is not None:
                keys.append(user_orders_key(self._prefix, update.user_id))
            args = [
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
