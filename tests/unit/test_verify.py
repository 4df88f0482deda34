"""The drift check's logic: folding a log with redelivered copies, and comparing models."""

from __future__ import annotations

import pytest

from streams.messages import Message
from streams.verify import compare_orders, fold_log, report, status_count_triples

pytestmark = pytest.mark.unit

LINE = {"sku": "SKU-1", "quantity": 2, "unit_price_cents": 500}


def created(order_id: str, user: str = "u1") -> Message:
    return Message(
        "OrderCreated",
        {
            "event_id": f"{order_id}-1",
            "order_id": order_id,
            "version": 1,
            "occurred_at": 1000,
            "correlation_id": "c",
            "causation_id": "k",
            "user_id": user,
            "items": [LINE],
            "currency": "EUR",
            "total_cents": 1000,
        },
    )


def cancelled(order_id: str, version: int = 2) -> Message:
    return Message(
        "OrderCancelled",
        {
            "event_id": f"{order_id}-{version}",
            "order_id": order_id,
            "version": version,
            "occurred_at": 2000,
            "correlation_id": "c",
            "causation_id": "k2",
            "reason": "changed my mind",
        },
    )


def test_fold_skips_redelivered_copies_and_counts_unfoldable_events():
    log = fold_log(
        [created("a"), cancelled("a"), created("a"), cancelled("a"), cancelled("orphan")]
    )
    assert log.orders["a"].status == "cancelled"
    assert log.orders["a"].version == 2
    assert log.events["a"] == 2
    assert (log.log_events, log.duplicates, log.unfoldable) == (5, 2, 1)
    assert log.status_counts() == {"cancelled": 1}


def test_a_model_equal_to_the_log_has_no_drift_even_with_redis_strings():
    log = fold_log([created("a"), cancelled("a"), created("b")])
    as_redis = {
        order_id: {k: str(v) for k, v in row.items()} for order_id, row in log.expected().items()
    }
    drift = compare_orders(log.expected(), as_redis, [("orders.cancelled", 1, 1)])
    assert drift.drift == 0


def test_missing_stale_extra_and_counts_are_each_reported():
    log = fold_log([created("a"), cancelled("a"), created("b")])
    actual = {
        "a": {"status": "pending", "version": 1, "total_cents": 1000, "user_id": "u1"},
        "z": {"status": "pending", "version": 1, "total_cents": 5, "user_id": "u9"},
    }
    counts = status_count_triples(log.status_counts(), {"pending": 2})
    drift = compare_orders(log.expected(), actual, counts)
    assert drift.missing == ["b"]
    assert drift.extra == ["z"]
    [stale] = drift.stale
    assert stale["order_id"] == "a"
    assert set(stale["fields"]) == {"status", "version"}
    assert {c["figure"] for c in drift.counts} == {"orders.cancelled", "orders.pending"}
    verdict = report(log, {"redis": drift})
    assert verdict["drift"] == 5
    assert verdict["models"]["redis"]["missing"] == 1
    assert verdict["log"] == {"events": 3, "orders": 2, "duplicates_skipped": 0, "unfoldable": 0}


def test_event_counts_are_compared_when_asked_for():
    log = fold_log([created("a"), cancelled("a")])
    row = {**log.expected()["a"], "events": 1}
    drift = compare_orders(log.expected(with_events=True), {"a": row})
    assert drift.stale[0]["fields"] == {"events": {"expected": 2, "actual": 1}}
