"""The orchestrator's state machine, given-when-then: given the saga's records so far,
when a trigger arrives, then these records (and the commands they send)."""

from __future__ import annotations

import pytest

from processors.saga.commands import command_for
from processors.saga.decide import RetryPolicy, decide
from processors.saga.state import (
    COMPENSATED,
    COMPLETED,
    NEEDS_ATTENTION,
    Saga,
    evolve,
    idempotency_key,
    saga_id_for,
)
from streams.messages import Message

pytestmark = pytest.mark.unit

POLICY = RetryPolicy(step_timeout_ms=1_000, max_attempts=3, backoff=2.0)
ORDER = "order-1"
SAGA = saga_id_for(ORDER)


def created(total: int = 2_500) -> Message:
    return Message(
        "OrderCreated",
        {
            "event_id": "e-created",
            "order_id": ORDER,
            "version": 1,
            "occurred_at": 0,
            "correlation_id": "corr",
            "causation_id": "cmd",
            "user_id": "u1",
            "items": [{"sku": "SKU-1", "quantity": 2, "unit_price_cents": total // 2}],
            "currency": "EUR",
            "total_cents": total,
        },
    )


def reply(name: str, step: str, **fields) -> Message:
    body = {"event_id": f"e-{name}", "order_id": ORDER, "saga_id": SAGA}
    body["idempotency_key"] = idempotency_key(SAGA, step)
    return Message(name, {**body, **fields})


def order_event(name: str, **fields) -> Message:
    return Message(name, {"event_id": f"e-{name}", "order_id": ORDER, **fields})


def tick(saga: Saga, now: int) -> Message:
    return Message(
        "SagaDeadlineReached",
        {"order_id": ORDER, "saga_id": SAGA, "step": saga.step, "attempt": saga.attempt,
         "deadline_at": saga.deadline_at, "issued_at": now},
    )  # fmt: skip


class Run:
    """Feeds triggers through decide + evolve, remembering records and commands."""

    def __init__(self) -> None:
        self.saga: Saga | None = None
        self.records: list[Message] = []
        self.commands: list[Message] = []

    def when(self, trigger: Message, now: int = 10) -> list[Message]:
        records = decide(self.saga, trigger, now, POLICY)
        for record in records:
            self.saga = evolve(self.saga, record)
            command = command_for(self.saga, record)
            if command is not None:
                self.commands.append(command)
        self.records += records
        return records

    def sent(self) -> list[str]:
        return [c.name for c in self.commands]


def happy_until(run: Run, last: str) -> None:
    run.when(created())
    steps = [
        ("PaymentCharged", "charge"),
        ("InventoryReserved", "reserve"),
        ("ShipmentScheduled", "schedule"),
    ]
    for name, step in steps:
        if step == last:
            return
        run.when(reply(name, step))


def test_happy_path_charges_reserves_schedules_confirms_and_notifies_once():
    run = Run()
    happy_until(run, "confirm")
    run.when(order_event("OrderConfirmed"))
    assert run.sent() == ["ChargePayment", "ReserveInventory", "ScheduleShipment", "ConfirmOrder"]
    assert run.saga.status == COMPLETED
    assert [r["kind"] for r in run.records if r.name == "CustomerNotified"] == ["order_confirmed"]
    assert [r["version"] for r in run.records] == list(range(1, len(run.records) + 1))


def test_every_participant_command_carries_the_step_idempotency_key():
    run = Run()
    happy_until(run, "confirm")
    keys = [c["idempotency_key"] for c in run.commands if c.name != "ConfirmOrder"]
    assert keys == [idempotency_key(SAGA, s) for s in ("charge", "reserve", "schedule")]


def test_payment_declined_cancels_the_order_without_compensation():
    run = Run()
    run.when(created())
    run.when(reply("PaymentDeclined", "charge", reason="amount over limit 100"))
    assert run.sent() == ["ChargePayment", "CancelOrder"]
    assert "amount over limit" in run.commands[-1]["reason"]
    run.when(order_event("OrderCancelled", reason="amount over limit 100"))
    assert run.saga.status == COMPENSATED
    assert [r["kind"] for r in run.records if r.name == "CustomerNotified"] == ["order_cancelled"]


def test_out_of_stock_after_payment_refunds_then_cancels():
    run = Run()
    happy_until(run, "reserve")
    run.when(reply("InventoryReservationFailed", "reserve", reason="out of stock: SKU-1"))
    assert run.sent()[-1] == "RefundPayment"
    assert run.commands[-1]["charge_key"] == idempotency_key(SAGA, "charge")
    run.when(reply("PaymentRefunded", "refund"))
    assert run.sent()[-1] == "CancelOrder"
    run.when(order_event("OrderCancelled", reason="out of stock"))
    assert run.saga.status == COMPENSATED


def test_shipping_failure_releases_refunds_then_cancels():
    run = Run()
    happy_until(run, "schedule")
    run.when(reply("ShipmentFailed", "schedule", reason="no carrier"))
    run.when(reply("InventoryReleased", "release"))
    run.when(reply("PaymentRefunded", "refund"))
    run.when(order_event("OrderCancelled", reason="no carrier"))
    assert run.sent()[3:] == ["ReleaseInventory", "RefundPayment", "CancelOrder"]
    assert run.saga.status == COMPENSATED


def test_duplicate_and_late_replies_change_nothing():
    run = Run()
    happy_until(run, "schedule")
    before = run.saga
    assert run.when(reply("PaymentCharged", "charge")) == []
    assert run.when(reply("InventoryReserved", "reserve")) == []
    assert run.when(created()) == []
    assert run.saga == before


def test_a_silent_step_is_retried_with_backoff_then_compensated():
    run = Run()
    happy_until(run, "schedule")
    first = run.saga.deadline_at
    assert run.when(tick(run.saga, first - 1), now=first - 1) == []  # not due yet
    run.when(tick(run.saga, first), now=first)
    second = run.saga.deadline_at
    assert run.saga.attempt == 2 and second - first == 2 * POLICY.step_timeout_ms
    run.when(tick(run.saga, second), now=second)
    run.when(tick(run.saga, run.saga.deadline_at), now=run.saga.deadline_at)
    # The shipment may or may not have been booked: cancel it, then undo the rest.
    assert run.sent()[2:] == ["ScheduleShipment"] * 3 + ["CancelShipment"]
    assert len({c["idempotency_key"] for c in run.commands[2:5]}) == 1


def test_a_stale_tick_is_ignored():
    run = Run()
    run.when(created())
    old = tick(run.saga, 0)
    run.when(reply("PaymentCharged", "charge"))
    assert run.when(old, now=10**9) == []


def test_a_compensation_that_keeps_timing_out_is_parked_as_needs_attention():
    run = Run()
    happy_until(run, "reserve")
    run.when(reply("InventoryReservationFailed", "reserve", reason="out of stock"))
    for _ in range(POLICY.max_attempts):
        run.when(tick(run.saga, run.saga.deadline_at), now=run.saga.deadline_at)
    assert run.saga.status == NEEDS_ATTENTION
    assert run.saga.step == "refund"
    assert run.when(reply("PaymentRefunded", "refund")) == []  # parked, not dropped


def test_a_confirmed_order_cancelled_later_is_compensated_and_gets_a_cancellation_notice():
    run = Run()
    happy_until(run, "confirm")
    run.when(order_event("OrderConfirmed"))
    run.when(order_event("OrderCancelled", reason="changed my mind"))
    run.when(reply("ShipmentCancelled", "cancel_shipment"))
    run.when(reply("InventoryReleased", "release"))
    run.when(reply("PaymentRefunded", "refund"))
    assert run.sent()[4:] == ["CancelShipment", "ReleaseInventory", "RefundPayment"]
    assert run.saga.status == COMPENSATED
    kinds = [r["kind"] for r in run.records if r.name == "CustomerNotified"]
    assert kinds == ["order_confirmed", "order_cancelled"]


def test_records_fit_their_schemas():
    from streams.adapters.codec import AvroCodec
    from streams.adapters.schema_store import SchemaStore

    codec = AvroCodec(SchemaStore.load())
    run = Run()
    happy_until(run, "reserve")
    run.when(reply("InventoryReservationFailed", "reserve", reason="out of stock"))
    run.when(reply("PaymentRefunded", "refund"))
    run.when(order_event("OrderCancelled", reason="x"))
    for message in run.records + run.commands:
        decoded = codec.decode(codec.encode(message))  # EncodeError if a field is off
        assert decoded.name == message.name
        assert {k: decoded.body[k] for k in message.body} == message.body


def resume(note: str = "stock service back") -> Message:
    return Message(
        "SagaResumeRequested",
        {"order_id": ORDER, "request_id": "req-1", "note": note, "requested_at": 5},
    )


def parked_at_release(run: Run) -> None:
    happy_until(run, "schedule")
    run.when(reply("ShipmentFailed", "schedule", reason="too big"))
    for _ in range(POLICY.max_attempts):
        run.when(tick(run.saga, run.saga.deadline_at), now=run.saga.deadline_at)


def test_resuming_a_parked_saga_sends_its_step_again_and_finishes_the_compensation():
    run = Run()
    parked_at_release(run)
    assert (run.saga.status, run.saga.step) == (NEEDS_ATTENTION, "release")
    parked_pending, parked_reason = run.saga.pending, run.saga.reason
    records = run.when(resume(), now=50_000)
    assert [(r["step"], r["outcome"]) for r in records] == [
        ("release", "resumed"),
        ("release", "sent"),
    ]
    assert records[0]["reason"] == "stock service back"
    saga = run.saga
    assert (saga.status, saga.step, saga.attempt) == ("compensating", "release", 1)
    assert saga.deadline_at == 50_000 + POLICY.step_timeout_ms
    assert saga.pending == parked_pending == ("refund", "cancel_order")  # the plan it had
    assert saga.reason == parked_reason  # the note goes to the timeline, not the reason
    assert saga.timeline[-2]["reason"] == "stock service back"
    releases = [c for c in run.commands if c.name == "ReleaseInventory"]
    assert len(releases) == POLICY.max_attempts + 1
    assert len({c["idempotency_key"] for c in releases}) == 1  # the participant dedups
    run.when(reply("InventoryReleased", "release"))
    run.when(reply("PaymentRefunded", "refund"))
    run.when(order_event("OrderCancelled", reason="too big"))
    assert run.saga.status == COMPENSATED
    assert run.sent()[-3:] == ["ReleaseInventory", "RefundPayment", "CancelOrder"]


def test_a_resume_request_for_a_saga_that_is_not_parked_changes_nothing():
    run = Run()
    assert run.when(resume()) == []  # no saga yet
    happy_until(run, "reserve")
    before = run.saga
    assert run.when(resume()) == []  # running
    assert run.saga == before


def test_resume_records_and_the_request_fit_their_schemas():
    from streams.adapters.codec import AvroCodec
    from streams.adapters.schema_store import SchemaStore

    codec = AvroCodec(SchemaStore.load())
    run = Run()
    parked_at_release(run)
    records = run.when(resume())
    for message in [resume(), *records, run.commands[-1]]:
        decoded = codec.decode(codec.encode(message))
        assert {k: decoded.body[k] for k in message.body} == message.body


def test_a_retried_compensation_step_keeps_the_failure_that_started_the_compensation():
    # Seen in a run: "compensated (no answer to attempt 1)", the refund's retry had
    # overwritten the out-of-stock failure, and the CancelOrder carried the retry's text.
    run = Run()
    happy_until(run, "reserve")
    run.when(reply("InventoryReservationFailed", "reserve", reason="out of stock: SKU-1"))
    run.when(tick(run.saga, run.saga.deadline_at), now=run.saga.deadline_at)  # refund retried
    assert run.saga.attempt == 2
    run.when(reply("PaymentRefunded", "refund"))
    assert run.commands[-1].name == "CancelOrder"
    assert run.commands[-1]["reason"] == "out of stock: SKU-1"
    run.when(order_event("OrderCancelled", reason="out of stock: SKU-1"))
    assert (run.saga.status, run.saga.reason) == (COMPENSATED, "out of stock: SKU-1")
    final = run.records[-2]
    assert (final["outcome"], final["reason"]) == ("compensated", "out of stock: SKU-1")
    notice = run.records[-1]
    assert notice["message"] == "Your order was cancelled: out of stock: SKU-1."
    retries = [e for e in run.saga.timeline if e["outcome"] == "timed_out"]
    assert [(e["step"], e["reason"]) for e in retries] == [("refund", "no answer to attempt 1")]


def test_a_forward_retry_is_not_the_reason_of_a_later_failure_without_one():
    run = Run()
    run.when(created())
    run.when(tick(run.saga, run.saga.deadline_at), now=run.saga.deadline_at)  # charge retried
    run.when(reply("PaymentCharged", "charge"))
    run.when(reply("InventoryReservationFailed", "reserve"))  # a reply without a reason
    run.when(reply("PaymentRefunded", "refund"))
    assert run.saga.reason == ""  # not the retry's "no answer to attempt 1"
    assert run.commands[-1]["reason"] == "the order could not be fulfilled"
    assert [e["reason"] for e in run.saga.timeline if e["outcome"] == "timed_out"] == [
        "no answer to attempt 1"
    ]


def test_a_parked_compensation_keeps_the_first_cause_not_the_last_timeout():
    run = Run()
    parked_at_release(run)
    assert run.saga.status == NEEDS_ATTENTION
    assert run.saga.reason == "too big"
    assert run.saga.timeline[-1]["reason"] == "release timed out after 3 attempts"


def test_an_order_cancelled_while_a_compensation_is_in_flight_lets_it_finish():
    """The customer cancels while the refund of a failed reservation is in flight: the
    refund's reply still moves the saga on (it used to be ignored, the step and its
    deadline cleared by the cancellation: the saga stayed compensating for ever)."""
    run = Run()
    happy_until(run, "reserve")
    run.when(reply("InventoryReservationFailed", "reserve", reason="out of stock: SKU-1"))
    assert run.sent()[-1] == "RefundPayment"
    run.when(order_event("OrderCancelled", reason="changed my mind"))
    assert (run.saga.step, run.saga.deadline_at) != (None, None)  # the refund still awaited
    run.when(reply("PaymentRefunded", "refund"))
    assert run.saga.status == COMPENSATED
    assert "CancelOrder" not in run.sent()  # the order is cancelled already
    assert run.saga.reason == "out of stock: SKU-1"  # the first cause stays the reason


def test_a_deadline_of_the_compensation_in_flight_still_fires_after_a_cancellation():
    run = Run()
    happy_until(run, "reserve")
    run.when(reply("InventoryReservationFailed", "reserve", reason="out of stock: SKU-1"))
    run.when(order_event("OrderCancelled", reason="changed my mind"))
    saga = run.saga
    run.when(tick(saga, saga.deadline_at), now=saga.deadline_at)
    assert run.sent()[-1] == "RefundPayment" and run.saga.attempt == 2  # retried
