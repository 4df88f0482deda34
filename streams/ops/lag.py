"""Consumer lag of the app's consumer groups: committed offset, end offset, lag.

Under exactly-once every transaction ends with a control record (a commit or abort
marker) that takes an offset but is never delivered: ``end - committed`` counts those
markers, so a group at rest after transactional traffic shows a lag of one per
transaction still after its committed offset (an idle worker showed "total lag 28").
The real lag is the number of records a ``read_committed`` consumer would still be
given: counted by reading from the committed offset to the last stable offset, when
that is cheap (``COUNT_AT_MOST`` records per partition at most). Past that bound the
naive difference is reported as an upper bound (``exact`` False).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from streams.adapters.admin import KafkaUnavailable, unavailable_message
from streams.adapters.kafka_clients import kafka_python_config
from streams.config.settings import Settings
from streams.ops.consumer_groups import committed_offsets

# A partition whose naive lag is at most this is read to count its real records.
COUNT_AT_MOST = 1000
# How long counting may read, for every partition together; unfinished ones stay naive.
COUNT_SECONDS = 5.0


@dataclass(frozen=True)
class PartitionLag:
    """One topic-partition the group has committed on.

    ``end`` is the last stable offset (the end a ``read_committed`` reader sees);
    ``lag`` the records still to be delivered after ``committed``, markers excluded,
    unless ``exact`` is False: then it is ``end - committed``, an upper bound."""

    topic: str
    partition: int
    committed: int
    end: int
    lag: int
    exact: bool = True

    def to_dict(self) -> dict:
        return asdict(self)


def consumer_lag(
    settings: Settings, group_id: str | None = None, count_at_most: int = COUNT_AT_MOST
) -> list[PartitionLag]:
    """Lag per topic-partition of ``group_id`` (default: the Faust app id)."""
    group = group_id or settings.app_id
    committed = _committed(settings, group)
    if not committed:
        return []
    try:
        consumer = KafkaConsumer(
            **kafka_python_config(settings),
            client_id=f"{settings.app_id}-lag",
            enable_auto_commit=False,
            isolation_level="read_committed",  # end_offsets: the last stable offsets
        )
    except KafkaError as exc:
        raise KafkaUnavailable(unavailable_message(settings.kafka_bootstrap_servers)) from exc
    try:
        ends = consumer.end_offsets(list(committed))
        to_count = {
            tp: (offset, ends[tp])
            for tp, offset in committed.items()
            if 0 < ends[tp] - offset <= count_at_most
        }
        counted = count_records(consumer, to_count, COUNT_SECONDS)
    finally:
        consumer.close()
    rows = []
    for tp, offset in sorted(committed.items()):
        naive = max(ends[tp] - offset, 0)
        lag, exact = (counted[tp], True) if tp in counted else (naive, naive == 0)
        rows.append(PartitionLag(tp.topic, tp.partition, offset, ends[tp], lag, exact))
    return rows


def _committed(settings: Settings, group: str) -> dict[TopicPartition, int]:
    try:
        return committed_offsets(settings, group)
    except KafkaError as exc:
        raise KafkaUnavailable(f"cannot read offsets of group {group}: {exc}") from exc


def count_records(
    consumer: KafkaConsumer, ranges: dict[TopicPartition, tuple[int, int]], seconds: float
) -> dict[TopicPartition, int]:
    """Records a ``read_committed`` ``consumer`` is given in each ``[start, end)`` range:
    neither transaction markers nor aborted records. A partition whose range was not
    read to its end within ``seconds`` is left out."""
    if not ranges:
        return {}
    consumer.assign(list(ranges))
    for tp, (start, _end) in ranges.items():
        consumer.seek(tp, start)
    counts = dict.fromkeys(ranges, 0)
    pending = set(ranges)
    deadline = time.monotonic() + seconds
    while pending and time.monotonic() < deadline:
        for tp, records in consumer.poll(timeout_ms=200).items():
            end = ranges[tp][1]
            counts[tp] += sum(1 for record in records if record.offset < end)
        # The position moves past markers too: a range holding only markers is done.
        pending = {tp for tp in pending if consumer.position(tp) < ranges[tp][1]}
        if pending:
            consumer.pause(*(set(ranges) - pending))
    return {tp: n for tp, n in counts.items() if tp not in pending}
