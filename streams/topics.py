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

ALL_TOPICS: tuple[TopicSpec, ...] = (
    ORDER_COMMANDS,
    ORDER_EVENTS,
    COMMAND_RESULTS,
    ORDER_SNAPSHOTS,
    DEAD_LETTERS,
)

# The topics the read-model projections consume; replay reads these by default.
PROJECTED_TOPICS: tuple[TopicSpec, ...] = (ORDER_EVENTS,)


def by_name(name: str) -> TopicSpec:
    for spec in ALL_TOPICS:
        if spec.name == name:
            return spec
    raise KeyError(f"unknown topic {name!r}; known: {', '.join(s.name for s in ALL_TOPICS)}")
