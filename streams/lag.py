"""Consumer lag of the app's consumer group: committed offset, end offset, lag."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from kafka import KafkaConsumer
from kafka.errors import KafkaError

from streams.admin import KafkaUnavailable, admin_client, unavailable_message
from streams.kafka_clients import kafka_python_config
from streams.settings import Settings


@dataclass(frozen=True)
class PartitionLag:
    """One topic-partition the group has committed on; ``lag`` = end - committed."""

    topic: str
    partition: int
    committed: int
    end: int
    lag: int

    def to_dict(self) -> dict:
        return asdict(self)


def consumer_lag(settings: Settings, group_id: str | None = None) -> list[PartitionLag]:
    """Lag per topic-partition of ``group_id`` (default: the Faust app id).

    The end offset is the high watermark, as Kafka's own tools report it; under
    exactly-once a partition at rest may show a lag of 1, the transaction marker.
    """
    group = group_id or settings.app_id
    admin = admin_client(settings)
    try:
        committed = admin.list_group_offsets({group: None}).get(group, {})
    except KafkaError as exc:
        raise KafkaUnavailable(f"cannot read offsets of group {group}: {exc}") from exc
    finally:
        admin.close()
    committed = {tp: meta.offset for tp, meta in committed.items() if meta.offset >= 0}
    if not committed:
        return []
    try:
        consumer = KafkaConsumer(
            **kafka_python_config(settings),
            client_id=f"{settings.app_id}-lag",
            enable_auto_commit=False,
        )
    except KafkaError as exc:
        raise KafkaUnavailable(unavailable_message(settings.kafka_bootstrap_servers)) from exc
    try:
        ends = consumer.end_offsets(list(committed))
    finally:
        consumer.close()
    return [
        PartitionLag(tp.topic, tp.partition, offset, ends[tp], max(ends[tp] - offset, 0))
        for tp, offset in sorted(committed.items())
    ]
