"""Kafka reads for ``bench.pipeline``: a background tail of ``orders.events`` and
``notifications.events``, record counts of every topic of a namespace, the worker's
consumer groups, and a plain copy of a topic.

Counts are of records a read_committed consumer returns: Faust writes under exactly-once,
so end offsets also count transaction markers (and aborted records).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from bench.faust_ceiling import fill_topic
from streams.adapters.admin import admin_client
from streams.adapters.codec import AvroCodec, DecodeError
from streams.adapters.kafka_clients import kafka_python_config
from streams.config.settings import Settings
from streams.config.topics import NOTIFICATION_EVENTS, ORDER_EVENTS


def _consumer(settings: Settings, **extra) -> KafkaConsumer:
    return KafkaConsumer(
        **kafka_python_config(settings),
        isolation_level="read_committed",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **extra,
    )


def _partitions(consumer: KafkaConsumer, topics: list[str]) -> list[TopicPartition]:
    return [
        TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or [])
    ]


class Tail(threading.Thread):
    """Reads ``orders.events`` and ``notifications.events`` from the beginning as they
    grow: records per topic, and when each order's first CustomerNotified was read."""

    def __init__(self, settings: Settings, codec: AvroCodec) -> None:
        super().__init__(daemon=True, name="pipeline-tail")
        self.events_topic = settings.topic(ORDER_EVENTS.name)
        self.notify_topic = settings.topic(NOTIFICATION_EVENTS.name)
        self.codec = codec
        self.consumer = _consumer(settings, fetch_max_wait_ms=50, max_poll_records=5000)
        self.counts: Counter[str] = Counter()
        self.notified: dict[str, float] = {}  # order id -> perf_counter when read
        self.kinds: Counter[str] = Counter()
        self.first_event_at: float | None = None  # perf_counter of the first order event
        self.stopping = threading.Event()

    def run(self) -> None:
        tps = _partitions(self.consumer, [self.events_topic, self.notify_topic])
        self.consumer.assign(tps)
        self.consumer.seek_to_beginning(*tps)
        while not self.stopping.is_set():
            for tp, records in self.consumer.poll(timeout_ms=100).items():
                now = time.perf_counter()
                self.counts[tp.topic] += len(records)
                if tp.topic != self.notify_topic:
                    self.first_event_at = self.first_event_at or now
                    continue
                for record in records:
                    with contextlib.suppress(DecodeError):
                        message = self.codec.decode(record.value)
                        self.kinds[message.get("kind")] += 1
                        self.notified.setdefault(message["order_id"], now)
        self.consumer.close()

    def order_events(self) -> int:
        return self.counts[self.events_topic]

    def stop(self) -> None:
        self.stopping.set()
        self.join(10)


def namespace_topics(settings: Settings) -> list[str]:
    """Every topic of the namespace: the declared ones and Faust's (changelogs...)."""
    admin = admin_client(settings)
    try:
        prefixes = (f"{settings.namespace}.", f"{settings.app_id}-")
        return sorted(t for t in admin.list_topics() if t.startswith(prefixes))
    finally:
        admin.close()


def count_records(settings: Settings, topics: list[str], timeout: float) -> dict[str, dict]:
    """Per topic: ``records`` a read_committed consumer reads up to the end offsets taken
    first, and ``offsets`` (end minus beginning, markers included). ``records`` is None
    for a topic not read to its end within ``timeout`` seconds."""
    consumer = _consumer(
        settings,
        max_poll_records=10_000,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    try:
        tps = _partitions(consumer, topics)
        firsts, lasts = consumer.beginning_offsets(tps), consumer.end_offsets(tps)
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        counts: Counter[TopicPartition] = Counter()
        remaining = {tp for tp in tps if lasts[tp] > firsts[tp]}
        deadline = time.monotonic() + timeout
        while remaining and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=200).items():
                counts[tp] += sum(1 for r in records if r.offset < lasts[tp])
            remaining = {tp for tp in remaining if consumer.position(tp) < lasts[tp]}
            if remaining:
                consumer.pause(*(set(tps) - remaining))
        result = {t: {"records": 0, "offsets": 0} for t in topics}
        for tp in tps:
            row = result[tp.topic]
            row["offsets"] += lasts[tp] - firsts[tp]
            if row["records"] is not None:
                row["records"] = None if tp in remaining else row["records"] + counts[tp]
        return result
    finally:
        consumer.close()


def worker_groups(settings: Settings) -> dict[str, list[str]]:
    """The consumer groups of the namespace's Faust app(s) and the topics each has
    committed offsets on (a worker running only some agents is an app of its own)."""
    admin = admin_client(settings)
    try:
        names = [g["group_id"] for g in admin.list_groups()]
        mine = sorted(
            g for g in names if g == settings.app_id or g.startswith(f"{settings.app_id}-")
        )
        out = {}
        for group in mine:
            offsets = admin.list_group_offsets({group: None}).get(group, {})
            out[group] = sorted({tp.topic for tp, meta in offsets.items() if meta.offset >= 0})
        return out
    finally:
        admin.close()


def delete_groups(settings: Settings) -> list[str]:
    groups = list(worker_groups(settings))
    if groups:
        admin = admin_client(settings)
        with contextlib.suppress(KafkaError):
            admin.delete_groups(groups)
        admin.close()
    return groups


def copy_topic(settings: Settings, source: str, target: str, min_records: int = 0) -> int:
    """Copy the committed records of ``source`` to ``target`` partition by partition,
    without a transaction (so the copy's offsets are contiguous), repeated until the copy
    holds at least ``min_records``; the number of records copied."""
    consumer = _consumer(settings, max_poll_records=10_000)
    try:
        tps = _partitions(consumer, [source])
        ends = consumer.end_offsets(tps)
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        records, remaining = [], {tp for tp in tps if ends[tp] > 0}
        while remaining:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend((r.key, r.value) for r in batch)
            remaining = {tp for tp in remaining if consumer.position(tp) < ends[tp]}
    finally:
        consumer.close()
    # Keyed by order id, so the default partitioner puts each record in its old partition.
    repeats = max(1, -(-min_records // len(records))) if records else 0
    fill_topic(settings, target, records * repeats)
    return len(records) * repeats
