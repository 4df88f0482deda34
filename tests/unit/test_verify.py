"""The drift check's logic: folding a log with redelivered copies, and comparing models."""

from __future__ import annotations

import pytest

from streams.messages import Message
from streams.ops.verify import (
    WriteLedger,
    compare_orders,
    compare_write_side,
    fold_log,
    report,
    results_horizon,
    status_count_triples,
)

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


# The write side ------------------------------------------------------------------------


def result(command_id: str, order_id: str, event_ids: list[str], status="accepted") -> Message:
    return Message(
        "CommandResult",
        {"command_id": command_id, "order_id": order_id, "status": status, "event_ids": event_ids},
    )


def caused(message: Message, command_id: str) -> Message:
    return Message(message.name, {**message.body, "causation_id": command_id})


def ledger_of(results=(), events=()) -> WriteLedger:
    ledger = WriteLedger()
    for r in results:
        ledger.add_result(r)
    for at, e in enumerate(events):
        ledger.add_event(e, 1000 + at)
    return ledger


def test_accepted_results_and_their_events_match_whatever_the_copies_and_rejections():
    a, b = caused(created("a"), "k"), caused(cancelled("a"), "k2")
    ledger = ledger_of(
        [result("k", "a", ["a-1"]), result("k", "a", ["a-1"]), result("k2", "a", ["a-2"]),
         result("k3", "a", [], status="rejected")],
        [a, b, a],
    )  # fmt: skip
    drift = compare_write_side(ledger)
    assert drift.mismatches == 0
    assert (drift.results, drift.accepted, drift.rejected, drift.events) == (4, 2, 1, 2)


def test_each_kind_of_write_side_mismatch_is_reported_with_order_and_command():
    ledger = ledger_of(
        [result("k", "a", ["a-1"]), result("lost", "b", ["b-1"]), result("empty", "c", [])],
        [caused(created("a"), "k"), caused(created("d"), "stray"), caused(cancelled("a"), "k")],
    )
    drift = compare_write_side(ledger)
    assert drift.missing_events == [
        {"order_id": "c", "command_id": "empty", "event_ids": []},
        {"order_id": "b", "command_id": "lost", "event_ids": ["b-1"]},
    ]
    # a-2 claims command k, whose result does not name it: a mismatch too.
    assert [(u["order_id"], u["event_id"], u["causation_id"]) for u in drift.unaccepted_events] == [
        ("d", "d-1", "stray"),
        ("a", "a-2", "k"),
    ]
    verdict = report(fold_log([]), {}, drift)
    assert verdict["drift"] == 4
    assert verdict["write_side"]["examples"]["missing_events"][1]["order_id"] == "b"


def test_a_transaction_seen_on_one_topic_only_settles_when_read_on():
    # The snapshot caught command k's result but not its event, and the reverse for k2.
    ledger = ledger_of([result("k", "a", ["a-1"])], [caused(created("b"), "k2")])
    drift = compare_write_side(ledger)
    assert drift.mismatches == 2
    drift.settle(ledger_of([result("k2", "b", ["b-1"])], [caused(created("a"), "k")]))
    assert (drift.mismatches, drift.in_flight) == (0, 2)


def test_what_reading_on_does_not_explain_stays_a_mismatch():
    ledger = ledger_of([result("k", "a", ["a-1"])], [caused(created("b"), "k2")])
    drift = compare_write_side(ledger)
    drift.settle(ledger_of([result("other", "b", ["b-1"])], [caused(created("c"), "k")]))
    assert (drift.mismatches, drift.in_flight) == (2, 0)


def test_events_older_than_the_kept_results_of_their_partition_are_not_checked():
    horizon = results_horizon({0: True, 1: False, 2: True}, {0: 1001}, now_ms=5000)
    assert horizon == {0: 1001, 2: 5000}  # partition 2: every result expired
    ledger = ledger_of([], [caused(created("a"), "k"), caused(created("b"), "k2")])  # 1000, 1001
    drift = compare_write_side(ledger, lambda order_id, at: at < horizon[0])
    assert drift.beyond_retention == 1
    assert [u["order_id"] for u in drift.unaccepted_events] == ["b"]


def test_a_verdict_without_the_write_side_says_it_was_not_checked():
    verdict = report(fold_log([]), {})
    assert verdict["write_side"] == {"checked": False, "mismatches": 0}
    assert verdict["drift"] == 0
