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


# Generations -------------------------------------------------------------------------
# A full rebuild writes a new generation of the model next to the live one and then
# switches readers and writers over with one SET of the pointer key. Generation 0 is the
# original, unprefixed key layout, so a deployment that never rebuilt keeps its keys.


def current_generation_key(prefix: str) -> str:
    """String key holding the number of the generation readers and writers use."""
    return f"{prefix}current"


def generation_prefix(prefix: str, generation: int) -> str:
    """The key prefix of one generation: ``prefix`` itself for 0, else ``{prefix}g{N}:``."""
    return prefix if generation == 0 else f"{prefix}g{generation}:"


def generation_patterns(prefix: str, generation: int) -> tuple[str, ...]:
    """SCAN patterns that match exactly the keys of one generation (for dropping it)."""
    gp = generation_prefix(prefix, generation)
    return (f"{gp}order:*", f"{gp}user_orders:*", status_counts_key(gp))


def read_generation(client, prefix: str) -> int:
    """The live generation number (0 when no rebuild ever swapped one in)."""
    raw = client.get(current_generation_key(prefix))
    return int(raw) if raw else 0
