"""Reading planned ranges with a consumer that belongs to no group, in a child process.

The consumer is ``assign``-ed its partitions (no ``group_id``, no auto commit), so a
replay never joins, rebalances or commits for any consumer group: the live groups'
positions are untouched. Only committed transactions are read (``read_committed``),
as the live agents read them.

kafka-python spends most of a read parsing record batches in Python, so the consumer
runs in a child process and hands over raw ``(topic, partition, offset, timestamp,
key, value)`` tuples; this process decodes, projects and writes in parallel with it.
"""

from __future__ import annotations

import multiprocessing
import queue
from collections.abc import Callable, Iterator

from kafka import KafkaConsumer
from kafka.errors import KafkaError

from processors.projections.position import SourceEvent
from streams.adapters.admin import KafkaUnavailable, unavailable_message
from streams.adapters.codec import AvroCodec, DecodeError
from streams.adapters.kafka_clients import kafka_python_config
from streams.config.settings import Settings
from streams.ops.replay.plan import PartitionRange

_SPAWN = multiprocessing.get_context("spawn")  # a forked child would inherit live threads


def open_replay_consumer(settings: Settings) -> KafkaConsumer:
    """A group-less consumer sized for bulk reading."""
    return _consumer(settings, f"{settings.app_id}-replay")


def _consumer(settings: Settings, client_id: str) -> KafkaConsumer:
    try:
        return KafkaConsumer(
            **kafka_python_config(settings),
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
            client_id=client_id,
            max_partition_fetch_bytes=16 * 1024 * 1024,
            fetch_max_bytes=64 * 1024 * 1024,
            receive_buffer_bytes=4 * 1024 * 1024,
        )
    except KafkaError as exc:
        raise KafkaUnavailable(unavailable_message(settings.kafka_bootstrap_servers)) from exc


def fetch(settings, client_id, ranges, batch_size, keys, out) -> None:
    """Child process: put ``(records passed, [raw tuples])`` per poll, then None.

    With ``keys`` only records whose key is in it (or that have no key) are sent."""
    try:
        consumer = _consumer(settings, client_id)
        ends = {r.tp: r.end_offset for r in ranges}
        consumer.assign(list(ends))
        for r in ranges:
            consumer.seek(r.tp, r.start_offset)
        while ends:
            seen, chunk = 0, []
            for tp, records in consumer.poll(timeout_ms=500, max_records=batch_size).items():
                end = ends.get(tp, -1)
                for rec in records:
                    if rec.offset >= end:
                        break
                    seen += 1
                    if keys is None or rec.key is None or rec.key in keys:
                        chunk.append(
                            (tp.topic, rec.partition, rec.offset, rec.timestamp, rec.value)
                        )
            for tp in [tp for tp, end in ends.items() if consumer.position(tp) >= end]:
                # Transaction markers take offsets but are never returned, so the
                # position (not the last record seen) says when a partition is done.
                consumer.pause(tp)
                del ends[tp]
            if seen:
                out.put((seen, chunk))
        consumer.close()
        out.put(None)
    except BaseException as exc:  # reported to the parent, which raises it
        out.put(("error", f"{type(exc).__name__}: {exc}"))


class RangeReader:
    """Reads ``ranges`` and yields decoded events in batches of about ``batch_size``.

    ``progress`` is called with the number of records read after every poll. ``keys``
    (optional) keeps only records with those keys (or none), filtered in the child
    before anything is decoded, which makes scanning for a few orders cheap. ``read``
    counts every record passed, ``undecodable`` the ones the codec refused (the live
    agent dead-letters those; a replay skips them).
    """

    def __init__(
        self,
        settings: Settings,
        codec: AvroCodec,
        ranges: list[PartitionRange],
        batch_size: int = 20_000,
        keys: set[bytes] | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.settings, self.codec = settings, codec
        self.ranges = [r for r in ranges if r.records > 0]
        self.batch_size, self.keys, self.progress = batch_size, keys, progress
        self.read = 0
        self.undecodable = 0

    def __iter__(self) -> Iterator[list[SourceEvent]]:
        if not self.ranges:
            return
        out = _SPAWN.Queue(maxsize=8)
        args = (
            self.settings,  # the child builds its consumer from the same settings
            f"{self.settings.app_id}-replay",
            self.ranges,
            self.batch_size,
            self.keys,
            out,
        )
        child = _SPAWN.Process(target=fetch, args=args, name="replay-fetch", daemon=True)
        child.start()
        try:
            batch: list[SourceEvent] = []
            while (item := self._next(out, child)) is not None:
                seen, chunk = item
                batch += self._decode(chunk)
                self.read += seen
                if self.progress is not None:
                    self.progress(seen)
                if len(batch) >= self.batch_size:
                    yield batch
                    batch = []
            if batch:
                yield batch
        finally:
            if child.is_alive():
                child.terminate()
            child.join()

    @staticmethod
    def _next(out, child):
        while True:
            try:
                item = out.get(timeout=1.0)
            except queue.Empty:
                if not child.is_alive():
                    raise KafkaUnavailable("the replay reader process died") from None
                continue
            if isinstance(item, tuple) and item and item[0] == "error":
                raise KafkaUnavailable(f"reading the log failed: {item[1]}")
            return item

    def _decode(self, chunk: list) -> list[SourceEvent]:
        decoded, decode = [], self.codec.decode
        for topic, partition, offset, timestamp, value in chunk:
            try:
                message = decode(value)
            except DecodeError:
                self.undecodable += 1
                continue
            decoded.append(SourceEvent(message, topic, partition, offset, timestamp))
        return decoded
