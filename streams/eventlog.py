"""Reading the event store (``orders.events``) directly, for history and time travel.

The end of every read is fixed when it starts (the end offsets then), so a read always
terminates even while producers keep writing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.partitioner.default import murmur2

from streams.admin import KafkaUnavailable, unavailable_message
from streams.codec import AvroCodec, DecodeError
from streams.messages import Message
from streams.settings import Settings
from streams.topics import ORDER_EVENTS


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
            bootstrap_servers=settings.kafka_bootstrap_servers,
            enable_auto_commit=False,
            # Only events of committed transactions: the aggregate writes exactly once.
            isolation_level="read_committed",
            client_id=f"{settings.app_id}-eventlog",
        )
    except KafkaError as exc:
        raise KafkaUnavailable(unavailable_message(settings.kafka_bootstrap_servers)) from exc


def read_order_events(settings: Settings, codec: AvroCodec, order_id: str) -> list[LoggedEvent]:
    """Every event of ``order_id`` in log order, read from its partition of the event store."""
    topic = settings.topic(ORDER_EVENTS.name)
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


def _read_partition(
    consumer: KafkaConsumer, codec: AvroCodec, tp: TopicPartition
) -> Iterator[LoggedEvent]:
    consumer.assign([tp])
    end = consumer.end_offsets([tp])[tp]
    consumer.seek_to_beginning(tp)
    while consumer.position(tp) < end:
        for records in consumer.poll(timeout_ms=500, max_records=2000).values():
            for record in records:
                if record.offset >= end:
                    return
                try:
                    message = codec.decode(record.value)
                except DecodeError:
                    continue  # the projection already dead-lettered it; history skips it
                yield LoggedEvent(message, record.partition, record.offset, record.timestamp)
