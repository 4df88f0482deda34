"""One sample of every saga record, for the codec's round-trip tests."""

from __future__ import annotations

from streams.messages import Message

T0 = 1_767_225_600_000
CMD = {
    "command_id": "c-1",
    "order_id": "o-1",
    "saga_id": "s-1",
    "idempotency_key": "s-1:charge",
    "attempt": 2,
    "issued_at": T0,
    "correlation_id": "corr-1",
}
EVT = {
    "event_id": "e-1",
    "order_id": "o-1",
    "version": 1,
    "occurred_at": T0,
    "correlation_id": "corr-1",
    "causation_id": "c-1",
}
REPLY = {**EVT, "saga_id": "s-1", "idempotency_key": "s-1:charge"}
MONEY = {"amount_cents": 2599, "currency": "EUR"}
UNITS = [{"sku": "SKU-1", "quantity": 2}]
WHY = {"reason_code": "out_of_stock", "reason": "out of stock: SKU-1"}

SAGA_SAMPLES = [
    Message("ChargePayment", {**CMD, "user_id": "u-1", **MONEY}),
    Message("RefundPayment", {**CMD, "charge_key": "s-1:charge", **MONEY, "reason": "r"}),
    Message("ReserveInventory", {**CMD, "items": UNITS}),
    Message("ReleaseInventory", {**CMD, "reservation_key": "s-1:reserve", "reason": "r"}),
    Message("ScheduleShipment", {**CMD, "user_id": "u-1", "items": UNITS}),
    Message("CancelShipment", {**CMD, "shipment_key": "s-1:schedule", "reason": "r"}),
    Message("PaymentCharged", {**REPLY, **MONEY, "payment_id": "p-1"}),
    Message("PaymentDeclined", {**REPLY, **MONEY, **WHY}),
    Message("PaymentRefunded", {**REPLY, "charge_key": "s-1:charge", **MONEY, "reason": "r"}),
    Message("InventoryReserved", {**REPLY, "items": UNITS}),
    Message("InventoryReservationFailed", {**REPLY, "items": UNITS, **WHY}),
    Message(
        "InventoryReleased", {**REPLY, "reservation_key": "s-1:reserve", "items": [], "reason": "r"}
    ),
    Message("ShipmentScheduled", {**REPLY, "shipment_id": "sh-1"}),
    Message("ShipmentFailed", {**REPLY, **WHY}),
    Message(
        "ShipmentCancelled",
        {**REPLY, "shipment_key": "s-1:schedule", "shipment_id": None, "reason": "r"},
    ),
    Message(
        "CustomerNotified",
        {**EVT, "saga_id": "s-1", "user_id": "u-1", "kind": "order_confirmed", "message": "m"},
    ),
    Message(
        "SagaStarted",
        {
            **EVT,
            "saga_id": "s-1",
            "mode": "orchestration",
            "user_id": "u-1",
            **MONEY,
            "items": UNITS,
        },
    ),  # fmt: skip
    Message(
        "SagaStepRecorded",
        {
            **EVT,
            "saga_id": "s-1",
            "mode": "orchestration",
            "step": "charge",
            "command": "ChargePayment",
            "reply": None,
            "outcome": "sent",
            "reason": "",
            "attempt": 1,
            "saga_state": "running",
            "deadline_at": T0 + 10_000,
        },
    ),  # fmt: skip
    Message(
        "SagaDeadlineReached",
        {
            "order_id": "o-1",
            "saga_id": "s-1",
            "step": "charge",
            "attempt": 1,
            "deadline_at": T0,
            "issued_at": T0 + 5,
        },
    ),  # fmt: skip
    Message(
        "SagaResumeRequested",
        {
            "order_id": "o-1",
            "request_id": "r-1",
            "note": "refund service fixed",
            "requested_at": T0 + 9,
        },
    ),  # fmt: skip
]
