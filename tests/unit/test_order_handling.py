"""The aggregate's per-command handling: outcomes, snapshots, and snapshot + tail == fold."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors.orders.domain import fold
from processors.orders.handling import handle, order_from_snapshot
from streams.messages import Message

pytestmark = pytest.mark.unit

NOW = 1_700_000_000_000


def cmd(name: str, n: int, **fields) -> Message:
    return Message(
        name,
        {
            "command_id": f"c{n}",
            "order_id": "o-1",
            "expected_version": None,
            "issued_at": NOW,
            "correlation_id": "corr",
            **fields,
        },
    )


CREATE = cmd(
    "CreateOrder",
    0,
    user_id="u",
    currency="EUR",
    items=[{"sku": "A", "quantity": 1, "unit_price_cents": 100}],
)


def test_accepted_command_reports_version_and_event_ids():
    decision = handle(None, CREATE, NOW, snapshot_every=50)
    assert decision.result["status"] == "accepted"
    assert decision.result["version"] == 1
    assert decision.result["event_ids"] == [decision.events[0]["event_id"]]
    assert decision.state.version == 1
    assert decision.snapshot is None


def test_rejected_command_reports_code_reason_and_current_version():
    state = handle(None, CREATE, NOW, 50).state
    decision = handle(state, cmd("DeliverOrder", 1), NOW, 50)
    assert decision.events == []
    assert decision.state is state
    assert decision.result["status"] == "rejected"
    assert decision.result["reason_code"] == "invalid_transition"
    assert decision.result["version"] == 1


def test_snapshot_is_taken_when_the_version_crosses_a_multiple():
    state = handle(None, CREATE, NOW, snapshot_every=2).state
    decision = handle(state, cmd("ConfirmOrder", 1), NOW, snapshot_every=2)
    assert decision.snapshot is not None
    assert decision.snapshot["version"] == 2
    assert order_from_snapshot(decision.snapshot) == decision.state


ANY_COMMAND = st.sampled_from(
    [
        ("ConfirmOrder", {}),
        ("CancelOrder", {"reason": "r"}),
        ("ShipOrder", {"tracking_number": "T"}),
        ("DeliverOrder", {}),
        ("CreateOrder", {"user_id": "u", "currency": "EUR", "items": []}),
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    script=st.lists(ANY_COMMAND, max_size=12),
    every=st.integers(min_value=1, max_value=4),
)
def test_snapshot_plus_tail_equals_the_full_fold(script, every):
    state = handle(None, CREATE, NOW, every).state
    events, snapshots = [], []
    events += handle(None, CREATE, NOW, every).events
    for n, (name, fields) in enumerate(script, start=1):
        decision = handle(state, cmd(name, n, **fields), NOW + n, every)
        events += decision.events
        state = decision.state
        if decision.snapshot is not None:
            snapshots.append(decision.snapshot)
    assert fold(events) == state
    for snapshot in snapshots:
        base = order_from_snapshot(snapshot)
        tail = [e for e in events if e["version"] > base.version]
        assert fold(tail, base) == fold(events)
