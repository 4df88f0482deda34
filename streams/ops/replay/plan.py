"""Where a replay starts and ends in every partition, fixed before it reads a record.

Start: ``offsets_for_times(TIME)`` per partition, the first record whose timestamp is at
or after TIME; a partition with no such record starts at its end offset (nothing to
read). End: the end offsets when the plan is made, or with ``--to`` the first offset
after it (``offsets_for_times(to + 1 ms)``), so a replay always terminates even while
producers keep writing. Timestamps are the records' own (CreateTime as the producer set
them); a record with an older timestamp behind a newer one is read if its offset is in
range, as Kafka's own tools do.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from kafka import KafkaConsumer, TopicPartition

from streams.config.settings import Settings
from streams.config.topics import ALL_TOPICS, PROJECTED_TOPICS

METADATA_WAIT_SECONDS = 3.0


class PlanError(ValueError):
    """A replay that cannot be planned as asked; the message is one line for the user."""


@dataclass(frozen=True)
class PartitionRange:
    """Offsets ``[start_offset, end_offset)`` of one partition; ``beginning`` is the log
    start offset (a range starting there covers the partition's whole history)."""

    topic: str
    partition: int
    start_offset: int
    end_offset: int
    beginning: int = 0

    @property
    def records(self) -> int:
        """Offsets in range (transaction markers included, so an upper bound)."""
        return max(0, self.end_offset - self.start_offset)

    @property
    def tp(self) -> TopicPartition:
        return TopicPartition(self.topic, self.partition)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["records"] = self.records
        return out


def resolve_topics(settings: Settings, names: tuple[str, ...] | None) -> list[str]:
    """Real topic names for logical ``names`` (default: the projected topics).

    Unknown names and topics no projection reads are refused with a PlanError.
    """
    if not names:
        return [settings.topic(spec.name) for spec in PROJECTED_TOPICS]
    known = {spec.name for spec in ALL_TOPICS}
    projected = {spec.name for spec in PROJECTED_TOPICS}
    resolved = []
    for name in names:
        if name not in known:
            raise PlanError(f"unknown topic {name!r}; projected topics: {', '.join(projected)}")
        if name not in projected:
            raise PlanError(
                f"no projection reads {name!r}; projected topics: {', '.join(projected)}"
            )
        resolved.append(settings.topic(name))
    return resolved


def partitions(consumer: KafkaConsumer, topics: list[str]) -> list[TopicPartition]:
    """Every partition of ``topics``; a topic missing on the broker is a PlanError."""
    tps = []
    for topic in topics:
        found = consumer.partitions_for_topic(topic)
        deadline = time.monotonic() + METADATA_WAIT_SECONDS
        while not found and time.monotonic() < deadline:
            # A topic created a moment ago may not be in the cached metadata yet.
            consumer.topics()
            found = consumer.partitions_for_topic(topic)
            time.sleep(0.1) if not found else None
        if not found:
            raise PlanError(f"topic {topic} does not exist: run `orderflow topics create`")
        tps += [TopicPartition(topic, p) for p in sorted(found)]
    return tps


def _settled(lookup, *args):
    # Partitions of a topic created a moment ago may have no leader yet: kafka-python
    # then leaves them out of the answer (KeyError); they settle within a second or two.
    # A deadline loop, as in partitions(): tenacity's Retrying says it in no fewer lines
    # and the give-up still has to become a PlanError here.
    deadline = time.monotonic() + METADATA_WAIT_SECONDS
    while True:
        try:
            return lookup(*args)
        except KeyError:
            if time.monotonic() > deadline:
                raise PlanError("partitions without a leader; is the broker healthy?") from None
            time.sleep(0.2)


def end_offsets(consumer: KafkaConsumer, tps: list[TopicPartition]) -> dict:
    return _settled(consumer.end_offsets, tps)


def offsets_at(consumer: KafkaConsumer, tps: list[TopicPartition], ms: int) -> dict:
    """Per partition, the first offset with a timestamp at or after ``ms``, else the end."""
    ends = end_offsets(consumer, tps)
    found = _settled(consumer.offsets_for_times, {tp: ms for tp in tps})
    return {tp: found[tp].offset if found.get(tp) else ends[tp] for tp in tps}


def make_plan(
    consumer: KafkaConsumer, topics: list[str], from_ms: int | None, to_ms: int | None
) -> list[PartitionRange]:
    """The ranges of a replay of ``topics`` from ``from_ms`` (None: the beginning) to
    ``to_ms`` (None: the end offsets now), both record timestamps in epoch ms."""
    tps = partitions(consumer, topics)
    beginnings = _settled(consumer.beginning_offsets, tps)
    ends = end_offsets(consumer, tps)
    starts = beginnings if from_ms is None else offsets_at(consumer, tps, from_ms)
    if to_ms is not None:
        after = offsets_at(consumer, tps, to_ms + 1)
        ends = {tp: min(ends[tp], after[tp]) for tp in tps}
    return [
        PartitionRange(
            tp.topic, tp.partition, starts[tp], max(starts[tp], ends[tp]), beginnings[tp]
        )
        for tp in tps
    ]


def follow_on(consumer: KafkaConsumer, ranges: list[PartitionRange]) -> list[PartitionRange]:
    """Ranges from where ``ranges`` ended to the end offsets now (a catch-up)."""
    ends = end_offsets(consumer, [r.tp for r in ranges])
    return [
        PartitionRange(
            r.topic, r.partition, r.end_offset, max(r.end_offset, ends[r.tp]), r.beginning
        )
        for r in ranges
    ]


def covers_whole_log(ranges: list[PartitionRange]) -> bool:
    """True when every partition starts at its log start: a replay that sees everything."""
    return all(r.start_offset <= r.beginning for r in ranges)
