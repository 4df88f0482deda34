"""Whole-model operations on Redis generations: swap one in, drop one, promote repaired
orders into the live one, recount the status counters.

A full rebuild fills generation N+1 while N stays live, then swaps with one
compare-and-set of the pointer key (``sinks.redis_keys.current_generation_key``), which
readers and ``RedisSink`` resolve. Every script here checks the pointer on the server,
atomically with its writes, so nothing lands in a generation that stopped being live.
Needs Redis >= 6.2 (``COPY``). Single-node Redis: the recount reads keys by SCAN.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis

from sinks.redis_keys import (
    current_generation_key,
    generation_patterns,
    generation_prefix,
    order_key,
    status_counts_key,
    user_orders_key,
)

_SWAP = """
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
"""

# KEYS: pointer, live order hash, live counts, repaired order hash, [live user's zset]
# ARGV: live generation. Returns -1 stale generation, 0 nothing repaired, 1 replaced,
# 2 the live order is newer than the repair (only missing fields were filled in).
_PROMOTE = """
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return -1 end
local version = tonumber(redis.call('HGET', KEYS[4], 'version'))
if not version then return 0 end
local created = redis.call('HGET', KEYS[4], 'created_at')
if KEYS[5] and created then
  redis.call('ZADD', KEYS[5], created, redis.call('HGET', KEYS[4], 'order_id'))
end
local stored = tonumber(redis.call('HGET', KEYS[2], 'version')) or 0
if version < stored then
  local fields = redis.call('HGETALL', KEYS[4])
  for i = 1, #fields, 2 do redis.call('HSETNX', KEYS[2], fields[i], fields[i + 1]) end
  return 2
end
local old = redis.call('HGET', KEYS[2], 'status')
local new = redis.call('HGET', KEYS[4], 'status')
if old ~= new then
  if old then redis.call('HINCRBY', KEYS[3], old, -1) end
  redis.call('HINCRBY', KEYS[3], new, 1)
end
redis.call('COPY', KEYS[4], KEYS[2], 'REPLACE')
return 1
"""

# KEYS: pointer, counts. ARGV: live generation, pattern of its order hashes.
# One script, so the counters are rebuilt atomically with respect to live writes.
_RECOUNT = """
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return -1 end
local counts, cursor = {}, '0'
repeat
  local page = redis.call('SCAN', cursor, 'MATCH', ARGV[2], 'COUNT', 1000)
  cursor = page[1]
  for _, key in ipairs(page[2]) do
    local status = redis.call('HGET', key, 'status')
    if status then counts[status] = (counts[status] or 0) + 1 end
  end
until cursor == '0'
redis.call('DEL', KEYS[2])
for status, n in pairs(counts) do redis.call('HSET', KEYS[2], status, n) end
return 1
"""


class StaleGeneration(RuntimeError):
    """The live generation changed under an operation (another rebuild swapped)."""


def swap_generation(client: redis.Redis, prefix: str, expected: int, new: int) -> None:
    """Make ``new`` live if ``expected`` still is; else raise StaleGeneration."""
    if not client.eval(_SWAP, 1, current_generation_key(prefix), expected, new):
        raise StaleGeneration(f"generation {expected} of {prefix} is no longer live")


def drop_generation(client: redis.Redis, prefix: str, generation: int, chunk: int = 1000) -> int:
    """Delete every key of one generation (UNLINK, in chunks); returns how many."""
    dropped = 0
    for pattern in generation_patterns(prefix, generation):
        keys: list = []
        for key in client.scan_iter(match=pattern, count=chunk):
            keys.append(key)
            if len(keys) >= chunk:
                dropped += client.unlink(*keys)
                keys = []
        if keys:
            dropped += client.unlink(*keys)
    return dropped


def promote_orders(
    client: redis.Redis,
    prefix: str,
    generation: int,
    scratch_prefix: str,
    orders: Iterable[tuple[str, str | None]],
) -> dict[int, int]:
    """Copy repaired ``(order_id, user_id)`` views from ``scratch_prefix`` over the live
    generation, adjusting counters and the user's index; outcome code -> how many."""
    live = generation_prefix(prefix, generation)
    pointer, counts = current_generation_key(prefix), status_counts_key(live)
    script = client.register_script(_PROMOTE)
    pipe = client.pipeline(transaction=False)
    for order_id, user_id in orders:
        keys = [pointer, order_key(live, order_id), counts, order_key(scratch_prefix, order_id)]
        if user_id:
            keys.append(user_orders_key(live, user_id))
        script(keys=keys, args=[generation], client=pipe)
    outcomes: dict[int, int] = {}
    for result in pipe.execute():
        outcomes[int(result)] = outcomes.get(int(result), 0) + 1
    if outcomes.get(-1):
        raise StaleGeneration(f"generation {generation} of {prefix} stopped being live")
    return outcomes


def recount_statuses(client: redis.Redis, prefix: str, generation: int) -> None:
    """Rebuild the status counters of the live generation from its order hashes."""
    live = generation_prefix(prefix, generation)
    keys = [current_generation_key(prefix), status_counts_key(live)]
    if client.eval(_RECOUNT, 2, *keys, generation, order_key(live, "*")) == -1:
        raise StaleGeneration(f"generation {generation} of {prefix} stopped being live")
