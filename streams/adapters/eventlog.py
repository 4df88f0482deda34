"""Reading the event store (``orders.events``) directly, for history and time travel.

The end of every read is fixed when it starts (the end offsets then), so a read always
terminates even while producers keep writing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.partitioner.default import murmur2

from streams.adapters.admin import KafkaUnavailable, unavailable_message
from streams.adapters.codec import AvroCodec, DecodeError
from streams.adapters.kafka_clients import kafka_python_config
from streams.config.settings import Settings
from streams.config.topics import ORDER_EVENTS, ORDER_SNAPSHOTS, TopicSpec
from streams.messages import Message


@dataclass(frozen=True)
class LoggedEvent:
    message: Message
    partition: int
    offset: int
    timestamp_ms: int


def partition_for(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2, as Java's) picks for ``key``."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def open_consumer(settings: Settings) -> KafkaConsumer:
    try:
        return KafkaConsumer(
            **kafka_python_config(settings),
            enable_auto_commit=False,
            # Only events of committed transactions: the aggregate writes exactly once.
            isolation_level="read_committed",
            client_id=f"{settings.app_id}-eventlog",
        )
    except KafkaError as exc:
        raise KafkaUnavailable(unavailable_message(settings.kafka_bootstrap_servers)) from exc


def read_order_events(settings: Settings, codec: AvroCodec, order_id: str) -> list[LoggedEvent]:
    """Every event of ``order_id`` in log order, read from its partition of the event store."""
    return read_keyed(settings, codec, ORDER_EVENTS, order_id)


def latest_snapshot(settings: Settings, codec: AvroCodec, order_id: str) -> Message | None:
    """The newest ``OrderSnapshot`` of ``order_id`` from the compacted snapshot topic."""
    snapshots = read_keyed(settings, codec, ORDER_SNAPSHOTS, order_id)
    return max((s.message for s in snapshots), key=lambda m: m["version"], default=None)


def read_keyed(settings: Settings, codec: AvroCodec, spec: TopicSpec, order_id: str):
    """Every record of ``order_id`` on ``spec``'s topic, from the partition its key maps to."""
    topic = settings.topic(spec.name)
    consumer = open_consumer(settings)
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            raise KafkaUnavailable(f"topic {topic} does not exist: run `orderflow topics create`")
        key = order_id.encode()
        tp = TopicPartition(topic, partition_for(key, len(partitions)))
        return [
            event
            for event in _read_partition(consumer, codec, tp)
            if event.message.get("order_id") == order_id
        ]
    finally:
        consumer.close()


def read_all_events(
    settings: Settings, codec: AvroCodec, topic_name: str = ORDER_EVENTS.name
) -> Iterator[LoggedEvent]:
    """Every decodable event of every partition of ``topic_name`` (a logical name), up
    to the end offsets when the read starts; log order within each partition."""
    topic = settings.topic(topic_name)
    consumer = open_consumer(settings)
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            raise KafkaUnavailable(f"topic {topic} does not exist: run `orderflow topics create`")
        yield from _read_partitions(
            consumer, codec, [TopicPartition(topic, p) for p in sorted(partitions)]
        )
    finally:
        consumer.close()


def _read_partition(
    consumer: KafkaConsumer, codec: AvroCodec, tp: TopicPartition
) -> Iterator[LoggedEvent]:
    return _read_partitions(consumer, codec, [tp])


def _read_partitions(
    consumer: KafkaConsumer, codec: AvroCodec, tps: list[TopicPartition]
) -> Iterator[LoggedEvent]:
    consumer.assign(tps)
    ends = consumer.end_offsets(tps)
    consumer.seek_to_beginning(*tps)
    # The projection already dead-lettered what does not decode; history skips it.
    return decoded(records_until(consumer, ends), codec)


def records_until(
    consumer: KafkaConsumer, ends: dict[TopicPartition, int] | None, poll_ms: int = 500
) -> Iterator[Any]:
    """The records of ``ends``' partitions from the consumer's positions up to ``ends``
    (exclusive), in log order per partition; a partition read to its end is paused. With
    ``ends`` None, the assigned partitions for ever (a follow)."""
    if ends is None:
        while True:
            for records in consumer.poll(timeout_ms=poll_ms).values():
                yield from records
    open_tps = {tp for tp in ends if consumer.position(tp) < ends[tp]}
    while open_tps:
        for tp, records in consumer.poll(timeout_ms=poll_ms, max_records=2000).items():
            for record in records:
                if record.offset >= ends[tp]:
                    break
                yield record
        for tp in list(open_tps):
            if consumer.position(tp) >= ends[tp]:
                open_tps.discard(tp)
                consumer.pause(tp)


def decoded(records: Iterator[Any], codec: AvroCodec) -> Iterator[LoggedEvent]:
    """``records`` as logged events; one that does not decode is skipped (its reader
    dead-lettered it)."""
    for record in records:
        try:
            message = codec.decode(record.value)
        except DecodeError:
            continue
        yield LoggedEvent(message, record.partition, record.offset, record.timestamp)
