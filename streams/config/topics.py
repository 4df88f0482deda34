"""Every Kafka topic orderflow uses, declared as plain data.

Retention tells the story of streaming versus messaging: ``orders.events`` is the event
store and is kept forever (replayable); command topics are work queues and expire.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class TopicSpec:
    """A logical topic: its name before the namespace prefix, partitions and config."""

    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)
    doc: str = ""


FOREVER = {"retention.ms": "-1", "retention.bytes": "-1"}
SEVEN_DAYS = {"retention.ms": str(7 * DAY_MS)}
COMPACTED = {"cleanup.policy": "compact"}

ORDER_PARTITIONS = 4

ORDER_COMMANDS = TopicSpec(
    "orders.commands", ORDER_PARTITIONS, SEVEN_DAYS, "CreateOrder/CancelOrder/... keyed by order"
)
ORDER_EVENTS = TopicSpec(
    "orders.events", ORDER_PARTITIONS, FOREVER, "the event store, keyed by order_id"
)
COMMAND_RESULTS = TopicSpec(
    "orders.command-results", ORDER_PARTITIONS, SEVEN_DAYS, "accepted/rejected per command"
)
ORDER_SNAPSHOTS = TopicSpec(
    "orders.snapshots", ORDER_PARTITIONS, COMPACTED, "latest aggregate snapshot per order"
)
DEAD_LETTERS = TopicSpec(
    "orders.dead-letters", 1, FOREVER, "undecodable or unknown messages with the reason"
)

# The fulfilment saga's topics (processors/saga, payment, inventory, shipping). All are
# keyed by order id with the orders' partition count, so a saga's table stays
# co-partitioned with everything it reads, except inventory.commands (see below).
PAYMENT_COMMANDS = TopicSpec(
    "payments.commands", ORDER_PARTITIONS, SEVEN_DAYS, "ChargePayment/RefundPayment by order"
)
PAYMENT_EVENTS = TopicSpec(
    "payments.events", ORDER_PARTITIONS, FOREVER, "PaymentCharged/Declined/Refunded by order"
)
INVENTORY_COMMANDS = TopicSpec(
    "inventory.commands",
    1,
    SEVEN_DAYS,
    "Reserve/ReleaseInventory; one partition: stock is decided in one place "
    "(processors/inventory/agent.py)",
)
INVENTORY_EVENTS = TopicSpec(
    "inventory.events", ORDER_PARTITIONS, FOREVER, "InventoryReserved/...Failed/Released"
)
SHIPPING_COMMANDS = TopicSpec(
    "shipping.commands", ORDER_PARTITIONS, SEVEN_DAYS, "Schedule/CancelShipment by order"
)
SHIPPING_EVENTS = TopicSpec(
    "shipping.events", ORDER_PARTITIONS, FOREVER, "ShipmentScheduled/Failed/Cancelled"
)
NOTIFICATION_EVENTS = TopicSpec(
    "notifications.events", ORDER_PARTITIONS, FOREVER, "CustomerNotified, once per outcome"
)
SAGA_EVENTS = TopicSpec(
    "saga.events", ORDER_PARTITIONS, FOREVER, "SagaStarted/SagaStepRecorded: saga timelines"
)
SAGA_TICKS = TopicSpec(
    "saga.ticks", ORDER_PARTITIONS, {"retention.ms": str(DAY_MS)}, "overdue-step ticks"
)
SAGA_TOPICS: tuple[TopicSpec, ...] = (
    PAYMENT_COMMANDS,
    PAYMENT_EVENTS,
    INVENTORY_COMMANDS,
    INVENTORY_EVENTS,
    SHIPPING_COMMANDS,
    SHIPPING_EVENTS,
    NOTIFICATION_EVENTS,
    SAGA_EVENTS,
    SAGA_TICKS,
)

ALL_TOPICS: tuple[TopicSpec, ...] = (
    ORDER_COMMANDS,
    ORDER_EVENTS,
    COMMAND_RESULTS,
    ORDER_SNAPSHOTS,
    DEAD_LETTERS,
    *SAGA_TOPICS,
)

# The topics the read-model projections consume; replay reads these by default.
PROJECTED_TOPICS: tuple[TopicSpec, ...] = (ORDER_EVENTS, SAGA_EVENTS)


def by_name(name: str) -> TopicSpec:
    for spec in ALL_TOPICS:
        if spec.name == name:
            return spec
    raise KeyError(f"unknown topic {name!r}; known: {', '.join(s.name for s in ALL_TOPICS)}")
