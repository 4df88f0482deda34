"""``coalesce``: one update per order has the same effect as the updates one by one.

The effect is modelled the way the server script applies an update (version check, the
status counter move, the fields, the user's list); the integration tests run the script
itself against Redis.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.event_log import order_events
from processors.projections.position import SourceEvent
from processors.projections.redis_orders import HANDLERS, OrderUpdate, coalesce

pytestmark = pytest.mark.unit


def apply(updates: list[OrderUpdate], orders: dict, counts: dict, lists: dict) -> None:
    """What APPLY_ORDER_UPDATES does with each update, in Python."""
    for u in updates:
        stored = orders.get(u.order_id, {})
        if u.version <= int(stored.get("version", 0)):
            continue
        old = stored.get("status")
        if old != u.status:
            if old is not None:
                counts[old] = counts.get(old, 0) - 1
            counts[u.status] = counts.get(u.status, 0) + 1
        stored = {**stored, "version": u.version, "status": u.status, "updated_at": u.updated_at}
        stored.update(u.fields)
        if u.user_id is not None:
            stored["created_at"] = u.created_at
            lists.setdefault(u.user_id, {})[u.order_id] = u.created_at
        orders[u.order_id] = stored


def updates_of(orders: int, seed: int) -> list[OrderUpdate]:
    events = order_events(orders, seed=seed)
    out = []
    for n, message in enumerate(events):
        out += HANDLERS[message.name](SourceEvent(message, "orders.events", 0, n, 0))
    return out


def outcome(before: list[OrderUpdate], batch: list[OrderUpdate]) -> tuple:
    orders, counts, lists = {}, {}, {}
    apply(before, orders, counts, lists)
    apply(batch, orders, counts, lists)
    return orders, {k: v for k, v in counts.items() if v}, lists


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    stored=st.integers(0, 60),
    batch=st.integers(1, 60),
    redelivered=st.integers(0, 20),
)
def test_coalesced_batch_has_the_effect_of_the_updates_one_by_one(seed, stored, batch, redelivered):
    updates = updates_of(12, seed)
    before = updates[:stored]  # already in Redis
    rng = random.Random(seed)
    # A batch that starts inside what is stored (redelivery after a crash) or after it.
    start = max(0, stored - redelivered)
    chunk = updates[start : start + batch]
    chunk += rng.sample(chunk, min(len(chunk), redelivered // 4))  # duplicates too
    assert outcome(before, coalesce(chunk)) == outcome(before, chunk)


def test_one_update_per_order_at_its_highest_version():
    updates = updates_of(30, seed=3)
    merged = coalesce(updates)
    highest = {}
    for u in updates:
        highest[u.order_id] = max(highest.get(u.order_id, 0), u.version)
    assert sorted(u.order_id for u in merged) == sorted(highest)
    assert {u.order_id: u.version for u in merged} == highest
    created = {u.order_id: u.user_id for u in updates if u.user_id is not None}
    assert {u.order_id: u.user_id for u in merged if u.user_id is not None} == created
