"""Given these events, when this command, then these events (or this rejection)."""

from __future__ import annotations

import pytest

from processors.orders import domain
from processors.orders.domain import CommandRejected, decide, event_id_for, fold
from streams.messages import Message

pytestmark = pytest.mark.unit

NOW = 1_700_000_000_000
LINES = [
    {"sku": "SKU-1", "quantity": 2, "unit_price_cents": 1250},
    {"sku": "SKU-2", "quantity": 1, "unit_price_cents": 500},
]


def command(name: str, n: int = 1, expected_version=None, **fields) -> Message:
    return Message(
        name,
        {
            "command_id": f"cmd-{name}-{n}",
            "order_id": "order-1",
            "expected_version": expected_version,
            "issued_at": NOW,
            "correlation_id": "corr-1",
            **fields,
        },
    )


def create(items=None) -> Message:
    return command("CreateOrder", user_id="user-1", items=items or LINES, currency="EUR")


def given(*commands: Message) -> list[Message]:
    """The events that a sequence of accepted commands produced."""
    events: list[Message] = []
    for i, cmd in enumerate(commands):
        events += decide(fold(events), cmd, NOW + i)
    return events


def then_rejected(events: list[Message], cmd: Message, code: str) -> CommandRejected:
    with pytest.raises(CommandRejected) as info:
        decide(fold(events), cmd, NOW + 99)
    assert info.value.code == code
    return info.value


def test_create_order_emits_order_created_with_total_and_envelope():
    [event] = decide(None, create(), NOW)
    assert event.name == "OrderCreated"
    assert event["total_cents"] == 2 * 1250 + 500
    assert event["version"] == 1
    assert event["occurred_at"] == NOW
    assert event["causation_id"] == "cmd-CreateOrder-1"
    assert event["correlation_id"] == "corr-1"
    assert event["event_id"] == event_id_for("cmd-CreateOrder-1", 0)


def test_the_same_command_decided_twice_has_the_same_event_id():
    assert (
        decide(None, create(), NOW)[0]["event_id"] == decide(None, create(), NOW + 5)[0]["event_id"]
    )


@pytest.mark.parametrize(
    ("items", "code"),
    [
        ([], "no_items"),
        ([{"sku": "A", "quantity": 0, "unit_price_cents": 100}], "bad_quantity"),
        ([{"sku": "A", "quantity": -1, "unit_price_cents": 100}], "bad_quantity"),
        ([{"sku": "A", "quantity": 1, "unit_price_cents": 0}], "bad_price"),
    ],
)
def test_create_rejects_bad_items(items, code):
    cmd = command("CreateOrder", user_id="u", items=items, currency="EUR")
    then_rejected([], cmd, code)


def test_create_twice_is_rejected():
    then_rejected(
        given(create()),
        command("CreateOrder", 2, user_id="u", items=LINES, currency="EUR"),
        "duplicate_order",
    )


def test_command_for_unknown_order_is_rejected():
    then_rejected([], command("CancelOrder", reason="x"), "unknown_order")


def test_versions_are_gapless_through_the_lifecycle():
    events = given(
        create(),
        command("ConfirmOrder"),
        command("ShipOrder", tracking_number="TRK-1"),
        command("DeliverOrder"),
    )
    assert [e.name for e in events] == [
        "OrderCreated",
        "OrderConfirmed",
        "OrderShipped",
        "OrderDelivered",
    ]
    assert [e["version"] for e in events] == [1, 2, 3, 4]
    state = fold(events)
    assert state.status == "delivered"
    assert state.tracking_number == "TRK-1"
    assert state.version == 4


@pytest.mark.parametrize("before", [[], ["ConfirmOrder"]])
def test_pending_or_confirmed_order_can_be_cancelled(before):
    events = given(create(), *[command(name) for name in before])
    [cancelled] = decide(fold(events), command("CancelOrder", reason="too slow"), NOW)
    assert cancelled.name == "OrderCancelled"
    assert cancelled["reason"] == "too slow"
    state = fold([*events, cancelled])
    assert state.status == "cancelled"
    assert state.cancel_reason == "too slow"


def test_shipped_order_cannot_be_cancelled():
    events = given(create(), command("ConfirmOrder"), command("ShipOrder", tracking_number="T"))
    then_rejected(events, command("CancelOrder", 2, reason="x"), "already_shipped")


def test_delivered_order_cannot_be_cancelled():
    events = given(
        create(),
        command("ConfirmOrder"),
        command("ShipOrder", tracking_number="T"),
        command("DeliverOrder"),
    )
    then_rejected(events, command("CancelOrder", 2, reason="x"), "terminal_state")


@pytest.mark.parametrize("name", ["ConfirmOrder", "CancelOrder", "ShipOrder", "DeliverOrder"])
def test_nothing_leaves_a_cancelled_order(name):
    events = given(create(), command("CancelOrder", reason="x"))
    then_rejected(events, command(name, 2, reason="y", tracking_number="T"), "terminal_state")


@pytest.mark.parametrize(
    ("before", "cmd"),
    [
        ([], command("ShipOrder", tracking_number="T")),
        ([], command("DeliverOrder")),
        (["ConfirmOrder"], command("ConfirmOrder", 2)),
        (["ConfirmOrder"], command("DeliverOrder")),
    ],
)
def test_transitions_out_of_order_are_rejected(before, cmd):
    events = given(create(), *[command(name) for name in before])
    then_rejected(events, cmd, "invalid_transition")


def test_expected_version_mismatch_names_the_current_version():
    events = given(create(), command("ConfirmOrder"))
    rejected = then_rejected(
        events, command("CancelOrder", expected_version=1, reason="x"), "version_conflict"
    )
    assert "version 2" in rejected.message


def test_expected_version_match_is_accepted():
    events = given(create())
    [event] = decide(fold(events), command("ConfirmOrder", expected_version=1), NOW)
    assert event["version"] == 2


def test_unknown_command_is_rejected():
    then_rejected(given(create()), command("PaintOrder"), "unknown_command")


def test_an_unknown_event_keeps_the_history_gapless():
    events = given(create())
    future = Message("OrderGiftWrapped", {**events[0].body, "version": 2, "occurred_at": NOW + 1})
    state = fold([*events, future])
    assert state.version == 2
    assert state.status == "pending"


def test_two_events_of_one_command_get_their_own_ids_and_versions(monkeypatch):
    """Every event of a command used to get ``event_id_for(command_id, 0)``: a command with
    two events would have written two events with one id (readers deduplicate by id, so
    the second would have vanished) and one version. ``decide`` numbers them."""
    state = fold(given(create()))
    confirm = command("ConfirmOrder")
    confirmed = decide(state, confirm, NOW)[0]
    assert confirmed["event_id"] == event_id_for("cmd-ConfirmOrder-1", 0)  # one event: as before
    monkeypatch.setattr(domain, "_events", lambda state, command, now: [confirmed, confirmed])
    first, second = decide(state, confirm, NOW)
    assert (first["event_id"], second["event_id"]) == (
        event_id_for("cmd-ConfirmOrder-1", 0),
        event_id_for("cmd-ConfirmOrder-1", 1),
    )
    assert (first["version"], second["version"]) == (state.version + 1, state.version + 2)
