"""The deadline index the saga timer reads instead of scanning the table: it holds only
sagas with a step in flight, hands out each overdue one, again after a growing resend
delay while it is still pending, and mirrors whatever the agent stores last."""

from __future__ import annotations

import pytest

from processors.saga.deadlines import RESEND_AFTER_MS, RESEND_AT_MOST_MS, DeadlineIndex
from processors.saga.state import COMPENSATED, COMPENSATING, NEEDS_ATTENTION, RUNNING

pytestmark = pytest.mark.unit


def stored(order_id: str, deadline_at: int | None, status: str = RUNNING, **extra) -> dict:
    return {
        "saga_id": f"saga-{order_id}",
        "order_id": order_id,
        "status": status,
        "step": "charge",
        "attempt": 1,
        "deadline_at": deadline_at,
        "partition": 2,
        **extra,
    }


def test_only_sagas_with_a_step_in_flight_are_tracked():
    index = DeadlineIndex()
    index.rebuild(
        [
            ("running", stored("running", 100)),
            ("compensating", stored("compensating", 100, COMPENSATING)),
            ("answered", stored("answered", None)),
            ("over", stored("over", None, COMPENSATED)),
            ("parked", stored("parked", 100, NEEDS_ATTENTION)),
            ("gone", None),
        ]
    )
    assert len(index) == 2
    due = index.take_overdue(now_ms=100, limit=10)
    assert sorted(d.order_id for d in due) == ["compensating", "running"]
    assert due[0].partition == 2 and due[0].step == "charge" and due[0].attempt == 1


def test_nothing_is_due_before_its_deadline_and_the_earliest_comes_first():
    index = DeadlineIndex()
    for order_id, deadline in (("late", 300), ("early", 100), ("middle", 200)):
        index.track(order_id, stored(order_id, deadline))
    assert index.take_overdue(now_ms=99, limit=10) == []
    assert [d.order_id for d in index.take_overdue(now_ms=250, limit=10)] == ["early", "middle"]


def test_a_run_takes_at_most_limit_and_leaves_the_rest_for_the_next():
    index = DeadlineIndex()
    for n in range(5):
        index.track(f"o{n}", stored(f"o{n}", 100 + n))
    assert [d.order_id for d in index.take_overdue(1_000, limit=3)] == ["o0", "o1", "o2"]
    assert [d.order_id for d in index.take_overdue(1_000, limit=3)] == ["o3", "o4"]


def test_a_step_still_pending_is_handed_out_again_after_a_growing_resend_delay():
    index = DeadlineIndex()
    index.track("o1", stored("o1", 100))
    assert len(index.take_overdue(100, limit=10)) == 1
    assert index.take_overdue(100 + RESEND_AFTER_MS - 1, limit=10) == []
    storing_the_same_state_again = stored("o1", 100)
    index.track("o1", storing_the_same_state_again)
    assert index.take_overdue(100 + RESEND_AFTER_MS - 1, limit=10) == []
    now = 100 + RESEND_AFTER_MS
    assert len(index.take_overdue(now, limit=10)) == 1
    assert index.take_overdue(now + 2 * RESEND_AFTER_MS - 1, limit=10) == []
    now += 2 * RESEND_AFTER_MS
    assert len(index.take_overdue(now, limit=10)) == 1
    for _ in range(10):
        assert len(index.take_overdue(now + RESEND_AT_MOST_MS, limit=10)) == 1
        now += RESEND_AT_MOST_MS


def test_a_new_attempt_is_handed_out_at_its_own_deadline():
    index = DeadlineIndex()
    index.track("o1", stored("o1", 100))
    index.take_overdue(100, limit=10)
    index.track("o1", stored("o1", 200, attempt=2))
    assert [d.attempt for d in index.take_overdue(200, limit=10)] == [2]


def test_the_last_stored_state_wins():
    index = DeadlineIndex()
    index.track("retried", stored("retried", 100))
    index.track("retried", stored("retried", 500, attempt=2))
    index.track("answered", stored("answered", 100))
    index.track("answered", stored("answered", None))
    assert index.take_overdue(200, limit=10) == []
    [due] = index.take_overdue(500, limit=10)
    assert (due.order_id, due.attempt, due.deadline_at) == ("retried", 2, 500)
    assert len(index) == 1


def test_forget_and_clear_drop_tracked_sagas():
    index = DeadlineIndex()
    index.track("a", stored("a", 100))
    index.track("b", stored("b", 100))
    index.forget("a")
    assert [d.order_id for d in index.take_overdue(100, limit=10)] == ["b"]
    index.clear()
    assert len(index) == 0 and index.take_overdue(10**12, limit=10) == []


def test_many_updates_do_not_grow_the_heap_without_bound():
    index = DeadlineIndex()
    for n in range(30_000):
        index.track("busy", stored("busy", 10**9 + n))
        index.take_overdue(0, limit=1)
    assert len(index._heap) <= 2 * len(index) + 10_001
    [due] = index.take_overdue(10**10, limit=10)
    assert due.deadline_at == 10**9 + 29_999


def test_due_deadlines_wait_while_input_is_unread_but_not_for_ever():
    from processors.saga.agent import HOLD_AT_MOST_MS, HOLD_WHILE_UNREAD, deadlines_wait

    now = 1_000_000
    assert not deadlines_wait(HOLD_WHILE_UNREAD, now - 1, now)  # little unread: fire
    assert deadlines_wait(HOLD_WHILE_UNREAD + 1, now - 1, now)  # a backlog: wait
    assert not deadlines_wait(10**6, None, now)  # nothing pending
    assert not deadlines_wait(10**6, now + 1, now)  # nothing due yet
    assert not deadlines_wait(10**6, now - HOLD_AT_MOST_MS, now)  # waited long enough


def test_the_index_tells_when_its_earliest_deadline_falls_due():
    index = DeadlineIndex()
    assert index.next_look_at() is None
    index.track("o-1", stored("o-1", 2_000))
    index.track("o-2", stored("o-2", 1_000))
    assert index.next_look_at() == 1_000
