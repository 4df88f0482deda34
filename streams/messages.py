"""The in-memory shape of every Avro message the pipeline handles, and the one registry of
their record names.

``Record`` spells every record name once; ``GROUPS`` sorts them by their directory under
``schemas/`` (which is also their topic's). ``tests/unit/test_message_tables.py`` checks both
against the ``.avsc`` files, and every table keyed by record name against the groups, so a
new record is added here (and in ``schemas/``) and a table that misses it fails a test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Record(StrEnum):
    """Every Avro record name. A member is a ``str`` equal to (and hashing like) its name,
    so it stands wherever a name does: a ``Message.name``, a key of a table looked up with
    the name a decoded message carries."""

    # orders/commands
    CREATE_ORDER = "CreateOrder"
    CONFIRM_ORDER = "ConfirmOrder"
    CANCEL_ORDER = "CancelOrder"
    SHIP_ORDER = "ShipOrder"
    DELIVER_ORDER = "DeliverOrder"
    # orders/events
    ORDER_CREATED = "OrderCreated"
    ORDER_CONFIRMED = "OrderConfirmed"
    ORDER_CANCELLED = "OrderCancelled"
    ORDER_SHIPPED = "OrderShipped"
    ORDER_DELIVERED = "OrderDelivered"
    # orders/results, orders/snapshots
    COMMAND_RESULT = "CommandResult"
    ORDER_SNAPSHOT = "OrderSnapshot"
    # payments/commands, payments/events
    CHARGE_PAYMENT = "ChargePayment"
    REFUND_PAYMENT = "RefundPayment"
    PAYMENT_CHARGED = "PaymentCharged"
    PAYMENT_DECLINED = "PaymentDeclined"
    PAYMENT_REFUNDED = "PaymentRefunded"
    # inventory/commands, inventory/events
    RESERVE_INVENTORY = "ReserveInventory"
    RELEASE_INVENTORY = "ReleaseInventory"
    INVENTORY_RESERVED = "InventoryReserved"
    INVENTORY_RESERVATION_FAILED = "InventoryReservationFailed"
    INVENTORY_RELEASED = "InventoryReleased"
    # shipping/commands, shipping/events
    SCHEDULE_SHIPMENT = "ScheduleShipment"
    CANCEL_SHIPMENT = "CancelShipment"
    SHIPMENT_SCHEDULED = "ShipmentScheduled"
    SHIPMENT_FAILED = "ShipmentFailed"
    SHIPMENT_CANCELLED = "ShipmentCancelled"
    # saga/events, saga/ticks
    SAGA_STARTED = "SagaStarted"
    SAGA_STEP_RECORDED = "SagaStepRecorded"
    SAGA_DEADLINE_REACHED = "SagaDeadlineReached"
    SAGA_RESUME_REQUESTED = "SagaResumeRequested"
    # notifications/events
    CUSTOMER_NOTIFIED = "CustomerNotified"


_R = Record
ORDER_COMMANDS = frozenset(
    {_R.CREATE_ORDER, _R.CONFIRM_ORDER, _R.CANCEL_ORDER, _R.SHIP_ORDER, _R.DELIVER_ORDER}
)
ORDER_EVENTS = frozenset(
    {_R.ORDER_CREATED, _R.ORDER_CONFIRMED, _R.ORDER_CANCELLED, _R.ORDER_SHIPPED, _R.ORDER_DELIVERED}
)
PAYMENT_COMMANDS = frozenset({_R.CHARGE_PAYMENT, _R.REFUND_PAYMENT})
PAYMENT_EVENTS = frozenset({_R.PAYMENT_CHARGED, _R.PAYMENT_DECLINED, _R.PAYMENT_REFUNDED})
INVENTORY_COMMANDS = frozenset({_R.RESERVE_INVENTORY, _R.RELEASE_INVENTORY})
INVENTORY_EVENTS = frozenset(
    {_R.INVENTORY_RESERVED, _R.INVENTORY_RESERVATION_FAILED, _R.INVENTORY_RELEASED}
)
SHIPPING_COMMANDS = frozenset({_R.SCHEDULE_SHIPMENT, _R.CANCEL_SHIPMENT})
SHIPPING_EVENTS = frozenset({_R.SHIPMENT_SCHEDULED, _R.SHIPMENT_FAILED, _R.SHIPMENT_CANCELLED})
SAGA_EVENTS = frozenset({_R.SAGA_STARTED, _R.SAGA_STEP_RECORDED})
SAGA_TICKS = frozenset({_R.SAGA_DEADLINE_REACHED, _R.SAGA_RESUME_REQUESTED})
NOTIFICATION_EVENTS = frozenset({_R.CUSTOMER_NOTIFIED})

# Every record by its directory under schemas/: each record in exactly one group.
GROUPS: dict[str, frozenset[Record]] = {
    "orders/commands": ORDER_COMMANDS,
    "orders/events": ORDER_EVENTS,
    "orders/results": frozenset({_R.COMMAND_RESULT}),
    "orders/snapshots": frozenset({_R.ORDER_SNAPSHOT}),
    "payments/commands": PAYMENT_COMMANDS,
    "payments/events": PAYMENT_EVENTS,
    "inventory/commands": INVENTORY_COMMANDS,
    "inventory/events": INVENTORY_EVENTS,
    "shipping/commands": SHIPPING_COMMANDS,
    "shipping/events": SHIPPING_EVENTS,
    "saga/events": SAGA_EVENTS,
    "saga/ticks": SAGA_TICKS,
    "notifications/events": NOTIFICATION_EVENTS,
}

# Unions the saga's tables are checked against.
PARTICIPANT_COMMANDS = PAYMENT_COMMANDS | INVENTORY_COMMANDS | SHIPPING_COMMANDS
PARTICIPANT_REPLIES = PAYMENT_EVENTS | INVENTORY_EVENTS | SHIPPING_EVENTS
# The commands the orchestrator sends: the participants' and two of the order's.
SAGA_COMMANDS = PARTICIPANT_COMMANDS | {_R.CONFIRM_ORDER, _R.CANCEL_ORDER}
# What the saga writes of its own: its timeline and the customer's notification.
SAGA_RECORDS = SAGA_EVENTS | NOTIFICATION_EVENTS


@dataclass(frozen=True)
class Message:
    """One Avro record: its record name (e.g. ``OrderCreated``) and its fields.

    ``body`` always has the shape of the *current* reader schema of ``name``: the codec
    resolves whatever version wrote the bytes (and runs upcasters) before building it.
    ``name`` is a plain ``str`` when decoded, a ``Record`` when built here: the two are equal.
    """

    name: str
    body: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.body[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.body.get(key, default)
