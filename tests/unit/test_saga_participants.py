"""Participants, given-when-then: a repeated idempotency key gets the first reply and no
second effect; a compensation that arrives before its step voids the step."""

from __future__ import annotations

import pytest

from processors.idempotency import handle
from processors.inventory import domain as inventory
from processors.payment import domain as payment
from processors.shipping import domain as shipping
from streams.adapters.codec import AvroCodec
from streams.adapters.schema_store import SchemaStore
from streams.messages import Message
from tests.unit.saga_samples import SAGA_SAMPLES

pytestmark = pytest.mark.unit

ITEMS = [{"sku": "SKU-1", "quantity": 2}, {"sku": "SKU-2", "quantity": 1}]


def command(name: str, step: str, attempt: int = 1, **fields) -> Message:
    return Message(
        name,
        {
            "command_id": f"{step}-{attempt}",
            "order_id": "o-1",
            "saga_id": "s-1",
            "idempotency_key": f"s-1:{step}",
            "attempt": attempt,
            "issued_at": 0,
            "correlation_id": "c",
            **fields,
        },
    )


def charge(amount=1_000, attempt=1):
    return command(
        "ChargePayment", "charge", attempt, user_id="u", amount_cents=amount, currency="EUR"
    )


def refund():
    return command(
        "RefundPayment", "refund", charge_key="s-1:charge", amount_cents=1_000,
        currency="EUR", reason="r",
    )  # fmt: skip


NO_RULES = payment.PaymentRules()


def pay(ledger, cmd, rules=NO_RULES):
    return handle(ledger, cmd, 5, lambda lg, c, t: payment.decide(lg, c, t, rules), payment.evolve)


def test_a_repeated_charge_gets_the_first_reply_and_charges_once():
    ledger, first = pay(None, charge())
    again_ledger, again = pay(ledger, charge(attempt=2))
    assert first.name == "PaymentCharged"
    assert again == first and again_ledger is ledger
    assert ledger["charged"] == {"s-1:charge": 1_000}


def test_declines_by_amount_rule():
    _, reply = pay(None, charge(amount=50_000), payment.PaymentRules(decline_above_cents=10_000))
    assert reply.name == "PaymentDeclined" and reply["reason_code"] == "amount_over_limit"


def test_refund_gives_back_the_charge_once_and_a_refund_before_the_charge_voids_it():
    ledger, _ = pay(None, charge())
    ledger, refunded = pay(ledger, refund())
    _, again = pay(ledger, refund())
    assert refunded["amount_cents"] == 1_000 and again == refunded
    early, nothing = pay(None, refund())
    assert nothing["amount_cents"] == 0
    _, late = pay(early, charge())
    assert late.name == "PaymentDeclined" and late["reason_code"] == "voided"


def reserve_with(stock: dict[str, int]):
    def run(ledger, cmd):
        decide = lambda lg, c, t: inventory.decide(lg, c, t, lambda sku: stock.get(sku, 0))  # noqa: E731
        return handle(ledger, cmd, 5, decide, inventory.evolve)

    return run


def test_reservation_is_all_or_nothing_and_a_repeat_reserves_once():
    reserve = reserve_with({"SKU-1": 5, "SKU-2": 0})
    _, failed = reserve(None, command("ReserveInventory", "reserve", items=ITEMS))
    assert failed.name == "InventoryReservationFailed" and "SKU-2" in failed["reason"]
    assert inventory.stock_changes(failed) == {}
    reserve = reserve_with({"SKU-1": 5, "SKU-2": 1})
    ledger, ok = reserve(None, command("ReserveInventory", "reserve", items=ITEMS))
    same_ledger, again = reserve(ledger, command("ReserveInventory", "reserve", 2, items=ITEMS))
    assert ok.name == "InventoryReserved" and again == ok and same_ledger is ledger
    assert inventory.stock_changes(ok) == {"SKU-1": -2, "SKU-2": -1}
    release = command("ReleaseInventory", "release", reservation_key="s-1:reserve", reason="r")
    _, released = reserve(ledger, release)
    assert inventory.stock_changes(released) == {"SKU-1": 2, "SKU-2": 1}


def test_shipping_fails_for_unshippable_skus_and_cancel_before_booking_voids_it():
    def ship(ledger, cmd, unshippable=frozenset()):
        decide = lambda lg, c, t: shipping.decide(lg, c, t, unshippable)  # noqa: E731
        return handle(ledger, cmd, 5, decide, shipping.evolve)

    schedule = command("ScheduleShipment", "schedule", user_id="u", items=ITEMS)
    _, failed = ship(None, schedule, frozenset({"SKU-2"}))
    assert failed.name == "ShipmentFailed"
    cancel = command("CancelShipment", "cancel_shipment", shipment_key="s-1:schedule", reason="r")
    early, cancelled = ship(None, cancel)
    assert cancelled["shipment_id"] is None
    _, late = ship(early, schedule)
    assert late.name == "ShipmentFailed" and late["reason_code"] == "voided"


def test_replies_fit_their_schemas():
    codec = AvroCodec(SchemaStore.load())
    ledger, charged = pay(None, charge())
    _, refunded = pay(ledger, refund())
    for message in (charged, refunded, charge(), refund()):
        assert codec.decode(codec.encode(message)).name == message.name


@pytest.mark.parametrize("msg", SAGA_SAMPLES, ids=[m.name for m in SAGA_SAMPLES])
def test_every_saga_record_round_trips(msg: Message) -> None:
    codec = AvroCodec(SchemaStore.load())
    assert codec.decode(codec.encode(msg)) == msg
