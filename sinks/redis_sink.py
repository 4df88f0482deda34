"""Redis writer for the order read model: one version-checked Lua call per chunk of
updates (the script loops over them), all chunks of a batch in one round trip."""

from __future__ import annotations

import time
from collections.abc import Iterable

import orjson
import redis

from processors.projections.redis_orders import HANDLERS, OrderUpdate, coalesce
from sinks.redis_keys import (
    current_generation_key,
    generation_prefix,
    order_key,
    read_generation,
    status_counts_key,
    user_orders_key,
)

# KEYS: generation pointer, status counts hash, then per update: its order hash and, for
#   an OrderCreated, the user's orders zset.
# ARGV[1]: generation. ARGV[2]: the updates as one JSON array (one argument instead of a
#   dozen per update: packing arguments was most of the client's cost), each update an
#   array of strings: version, status, order_id, updated_at, created_at ('' unless it
#   lists the order for its user, which takes a second key), then field, value, ...
# Returns -1 (nothing written) or how many updates were applied. A key of the chunk
#   that holds another kind of value refuses the whole chunk with a WRONGTYPE error
#   before anything is written (see ``sinks.errors``: a data error, its event is parked);
#   the generation pointer or the counts holding the wrong kind fail with ERR instead (not
#   any event's fault: retried, never dead-lettered).
# The generation check makes a full rebuild's swap atomic for writers: a chunk aimed at a
# generation that is no longer live returns -1 and the sink re-sends it to the new one
# (ARGV[1] = '' skips the check: a rebuild writing its shadow generation).
# The version check runs on the server, atomically with the writes it guards: an update
# no newer than the stored order is dropped whole, so a redelivered or replayed event
# neither moves the order backwards nor moves a status counter twice. Updates apply in
# order, so several updates of one order in a chunk each see the one before. Status
# counter moves are summed per status and written once at the end of the call.
APPLY_ORDER_UPDATES = """
local function kind(key)
  return redis.call('TYPE', key)['ok']
end
for i, want in ipairs({'string', 'hash'}) do
  local t = kind(KEYS[i])
  if t ~= 'none' and t ~= want then
    return redis.error_reply('ERR ' .. KEYS[i] .. ' holds a ' .. t .. ', not a ' .. want)
  end
end
if ARGV[1] ~= '' and (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then
  return -1
end
local updates = cjson.decode(ARGV[2])
local k = 3
for _, u in ipairs(updates) do
  local t = kind(KEYS[k])
  if t ~= 'none' and t ~= 'hash' then
    return redis.error_reply('WRONGTYPE order key ' .. KEYS[k] .. ' holds a ' .. t)
  end
  if u[5] ~= '' then
    t = kind(KEYS[k + 1])
    if t ~= 'none' and t ~= 'zset' then
      return redis.error_reply('WRONGTYPE user orders key ' .. KEYS[k + 1] .. ' holds a ' .. t)
    end
  end
  k = k + (u[5] ~= '' and 2 or 1)
end
local applied, counts = 0, {}
k = 3
for _, u in ipairs(updates) do
  local order, new, listed = KEYS[k], u[2], u[5] ~= ''
  local stored = redis.call('HMGET', order, 'version', 'status')
  if tonumber(u[1]) > (tonumber(stored[1]) or 0) then
    local old = stored[2]
    if old ~= new then
      if old then
        counts[old] = (counts[old] or 0) - 1
      end
      counts[new] = (counts[new] or 0) + 1
    end
    local fields = {'version', u[1], 'status', new, 'order_id', u[3], 'updated_at', u[4]}
    for i = 6, #u do
      fields[#fields + 1] = u[i]
    end
    if listed then
      fields[#fields + 1] = 'created_at'
      fields[#fields + 1] = u[5]
      redis.call('ZADD', KEYS[k + 1], u[5], u[3])
    end
    redis.call('HSET', order, unpack(fields))
    applied = applied + 1
  end
  k = k + (listed and 2 or 1)
end
for status, delta in pairs(counts) do
  if delta ~= 0 then
    redis.call('HINCRBY', KEYS[2], status, delta)
  end
end
return applied
"""

# Updates per script call: the server runs nothing else while a script runs, so a chunk
# is kept to a few milliseconds of work; a batch's chunks share one pipeline round trip.
CHUNK = 500

# A writer that follows the pointer re-reads it at most this often when nothing is stale.
_GENERATION_RECHECK_SECONDS = 5.0


class RedisSink:
    """Buffers ``OrderUpdate`` writes and applies them with the ``APPLY_ORDER_UPDATES``
    script. Idempotent because every update is version-checked on the server.

    By default the sink writes the live generation named by ``{prefix}current`` (see
    ``sinks.redis_keys``); the server refuses a write aimed at a generation that is no
    longer live, and the sink then re-reads the pointer and re-sends it, so after a swap
    every write lands in the new generation. ``generation=N`` pins the sink to one
    generation without that check (a rebuild filling its shadow).
    """

    handlers = HANDLERS
    store = "Redis"

    def __init__(self, client: redis.Redis, prefix: str, generation: int | None = None) -> None:
        self._client = client
        self._prefix = prefix
        self._pinned = generation
        self._generation = generation if generation is not None else read_generation(client, prefix)
        self._checked_at = time.monotonic()
        self._script = client.register_script(APPLY_ORDER_UPDATES)
        self._pending: list[OrderUpdate] = []
        self.applied = 0
        """Orders changed in Redis by the last flush (after ``coalesce``: one merged
        update per order; the others were not newer)."""

    def add(self, writes: Iterable[OrderUpdate]) -> None:
        self._pending.extend(writes)

    def flush(self) -> int:
        if not self._pending:
            return 0
        batch = self._pending
        # One write per order instead of one per event (catch-up and replay batches
        # hold several events of an order); same effect, see ``coalesce``.
        merged = coalesce(batch)
        chunks = [merged[i : i + CHUNK] for i in range(0, len(merged), CHUNK)]
        applied = 0
        while chunks:
            try:
                results = self._send(chunks)
            except redis.exceptions.NoScriptError:
                # A restarted or flushed server lost the script; loading it and sending
                # the whole batch again is safe because applied updates are no-ops.
                self._client.script_load(APPLY_ORDER_UPDATES)
                results = self._send(chunks)
            applied += sum(r for r in results if r > 0)
            # Chunks refused as aimed at an old generation go again, in their order.
            chunks = [c for c, r in zip(chunks, results, strict=True) if r == -1]
            if chunks:
                self._generation = read_generation(self._client, self._prefix)
                self._checked_at = time.monotonic()
        self._pending = []
        self.applied = applied
        return len(batch)

    def discard(self) -> None:
        """Forget the buffered writes (a batch the store refused is fed again in parts)."""
        self._pending = []

    def close(self) -> None:
        self.flush()

    def _send(self, chunks: list[list[OrderUpdate]]) -> list[int]:
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
        head = [current_generation_key(self._prefix), status_counts_key(prefix)]
        for chunk in chunks:
            keys, updates = list(head), []
            for u in chunk:
                keys.append(order_key(prefix, u.order_id))
                update = [str(u.version), u.status, u.order_id, str(u.updated_at), ""]
                if u.user_id is not None:
                    keys.append(user_orders_key(prefix, u.user_id))
                    update[4] = str(u.created_at or 0)
                for field, value in u.fields:
                    update += (field, value)
                updates.append(update)
            pipe.evalsha(sha, len(keys), *keys, expected, orjson.dumps(updates))
        return [int(r) for r in pipe.execute()]
