"""A replay from start to summary: a full rebuild through shadows, or a repair.

Full rebuild (the plan starts every partition at its log start): the planned ranges go
through the live projection code into every target's shadow; catch-up passes follow the
log into the shadow while it grows; then each target swaps atomically. Events that
arrive between the last pass and the swap were projected by the live worker into the
old model only, so after the swap they are replayed into the now-live model: ClickHouse
takes them as they come (facts deduplicated by key, aggregates order-insensitive);
Redis applies per-order deltas under a version check, where an event applied late would
be dropped as older, so there each order touched since the last pass is recomputed from
its whole history instead (``repair``). Nothing is lost and nothing counts twice
because every write is idempotent.

Repair (a mid-log start): every order with an event in the window is recomputed from its
whole history in the log (up to the end offsets when the history is read, whatever
``--to`` says: ``--to`` only bounds the window that selects orders) and written over the
live model. Snapshots do not shorten this: the events after a snapshot sit at offsets
nothing records, so the scan reads the partitions anyway, filtering on record keys
without decoding, and ClickHouse needs every event of the order, not its state.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from kafka import KafkaConsumer

from processors.projections.position import SourceEvent
from streams.adapters.codec import AvroCodec
from streams.config.settings import Settings
from streams.ops.replay.plan import PartitionRange, follow_on
from streams.ops.replay.reader import RangeReader
from streams.ops.replay.writers import SinkWriter, feed_all

CATCH_UP_PASSES = 3


@dataclass
class Summary:
    """What a replay did; ``to_dict`` is the ``--json`` output."""

    mode: str
    projections: list[str]
    records: int = 0
    seconds: float = 0.0
    written: dict[str, int] = field(default_factory=dict)
    repaired_orders: int = 0
    undecodable: int = 0
    refused: int = 0  # events a store refused: skipped and logged (``writers``)
    swapped: bool = False
    interrupted: bool = False
    partitions: list[dict] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        out = dict(self.__dict__)
        out["records_per_second"] = round(self.rate, 1)
        out["seconds"] = round(self.seconds, 3)
        return out


class Replay:
    """Runs one replay over ``targets`` (``RedisTarget``/``ClickHouseTarget``)."""

    def __init__(
        self,
        settings: Settings,
        consumer: KafkaConsumer,
        codec: AvroCodec,
        targets: list,
        batch_size: int = 20_000,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.settings, self.consumer, self.codec = settings, consumer, codec
        self.targets, self.batch_size, self.progress = targets, batch_size, progress

    def _reader(self, ranges, keys=None) -> RangeReader:
        return RangeReader(self.settings, self.codec, ranges, self.batch_size, keys, self.progress)

    def _stream(self, ranges: list[PartitionRange], sinks: dict, summary: Summary) -> list:
        reader = self._reader(ranges)
        writers = [SinkWriter(name, sink) for name, sink in sinks.items()]
        try:
            feed_all(writers, reader)
        finally:
            summary.records += reader.read
            summary.undecodable += reader.undecodable
            for w in writers:
                summary.written[w.name] = summary.written.get(w.name, 0) + w.written
                summary.refused += w.refused
        return ranges

    def rebuild(self, ranges: list[PartitionRange], summary: Summary) -> None:
        """Full rebuild into shadows, catch-up passes, swap, post-swap catch-up."""
        sinks = {t.name: t.shadow_sink() for t in self.targets}
        self._stream(ranges, sinks, summary)
        for _ in range(CATCH_UP_PASSES):
            more = follow_on(self.consumer, ranges)
            if not any(r.records for r in more):
                break
            ranges = self._stream(more, sinks, summary)
        for target in self.targets:
            target.swap()
        summary.swapped = True
        after = follow_on(self.consumer, ranges)
        if any(r.records for r in after):
            for target in self.targets:
                if target.name == "redis":
                    self.repair(after, [target], summary)
                else:
                    self._stream(after, {target.name: target.live_sink()}, summary)
        for target in self.targets:
            target.finish()

    def repair(self, window: list[PartitionRange], targets: list, summary: Summary) -> None:
        """Recompute every order with an event in ``window`` from its whole history."""
        order_ids: set[str] = set()
        reader = self._reader(window)
        for batch in reader:
            order_ids.update(
                e.body["order_id"] for e in batch if e.body.get("order_id") is not None
            )
        summary.records += reader.read
        history = self.history(window, order_ids, summary)
        for target in targets:
            written = target.repair(order_ids, history)
            summary.refused += target.refused
            summary.written[target.name] = summary.written.get(target.name, 0) + len(history)
            summary.repaired_orders = max(summary.repaired_orders, written)
        if any(t.name == "clickhouse" for t in targets):
            summary.swapped = True

    def history(self, window: list[PartitionRange], order_ids: set[str], summary) -> list:
        """Every event of ``order_ids`` from the log start to the end offsets now, in
        log order per partition. Every partition of every planned topic is scanned (an
        order's saga records live in other topics than the event that touched it), but
        only records with a wanted key are decoded."""
        wanted = {i.encode() for i in order_ids}
        ranges = [
            PartitionRange(r.topic, r.partition, r.beginning, r.end_offset, r.beginning)
            for r in follow_on(self.consumer, window)
        ]
        reader = self._reader(ranges, keys=wanted)
        events: list[SourceEvent] = []
        for batch in reader:
            events += [e for e in batch if e.body.get("order_id") in order_ids]
        summary.records += reader.read
        return events


def timed(run: Callable[[], None], summary: Summary) -> Summary:
    """Run ``run``, recording the time and a Ctrl-C in ``summary``."""
    started = time.monotonic()
    try:
        run()
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        summary.seconds = time.monotonic() - started
    return summary
