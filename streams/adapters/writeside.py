"""Reading the write side's two outputs, ``orders.events`` and ``orders.command-results``,
up to one point in time, for ``orderflow verify``'s write-side check.

The aggregate writes a command's events and its result in one Kafka transaction
(exactly_once). Both topics are read ``read_committed`` up to end offsets asked for in one
request at the start, so a transaction is, as a rule, seen whole or not at all. One window
remains: a commit's markers reach the partitions one after the other, so an end-offset
request landing between the two markers sees the transaction on one topic and not yet on
the other. ``read_on`` reads both topics on to their end offsets now, so that
``verify`` can tell such a transaction (it settles) from a real mismatch (it does not).
Under ``ORDERFLOW_PROCESSING_GUARANTEE=at_least_once`` there is no transaction: a worker
caught between a command's events and its result shows a mismatch until the command is
redelivered and answered; verify a quiet pipeline then.
"""

from __future__ import annotations

from collections.abc import Iterator

from kafka import TopicPartition

from streams.adapters.admin import KafkaUnavailable
from streams.adapters.codec import AvroCodec
from streams.adapters.eventlog import LoggedEvent, decoded, open_consumer, records_until
from streams.config.clock import now_ms
from streams.config.settings import Settings
from streams.config.topics import COMMAND_RESULTS, ORDER_EVENTS


class WriteSideLog:
    """One consumer over both topics, their end offsets fixed when it opens."""

    def __init__(self, settings: Settings, codec: AvroCodec) -> None:
        self.codec = codec
        self.consumer = open_consumer(settings)
        self.events_tps = self._partitions(settings.topic(ORDER_EVENTS.name))
        self.results_tps = self._partitions(settings.topic(COMMAND_RESULTS.name))
        self.consumer.assign(self.events_tps + self.results_tps)
        self.opened_ms = now_ms()
        # One request for both topics: the closest Kafka comes to one point in time.
        self.ends = self.consumer.end_offsets(self.events_tps + self.results_tps)
        self.starts = self.consumer.beginning_offsets(self.events_tps + self.results_tps)

    def _partitions(self, topic: str) -> list[TopicPartition]:
        partitions = self.consumer.partitions_for_topic(topic)
        if not partitions:
            self.consumer.close()
            raise KafkaUnavailable(f"topic {topic} does not exist: run `orderflow topics create`")
        return [TopicPartition(topic, p) for p in sorted(partitions)]

    def events(self) -> Iterator[LoggedEvent]:
        """Every decodable event, from the log's start to the end offsets at opening."""
        return self._read({tp: (self.starts[tp], self.ends[tp]) for tp in self.events_tps})

    def results(self) -> Iterator[LoggedEvent]:
        """Every decodable command result still retained, to the end offsets at opening."""
        return self._read({tp: (self.starts[tp], self.ends[tp]) for tp in self.results_tps})

    def results_trimmed(self) -> dict[int, bool]:
        """Per results partition: whether retention (7 days) deleted records from it."""
        return {tp.partition: self.starts[tp] > 0 for tp in self.results_tps}

    def read_on(self) -> tuple[list[LoggedEvent], list[LoggedEvent]]:
        """Events and results committed since opening (to the end offsets now)."""
        tps = self.events_tps + self.results_tps
        now = self.consumer.end_offsets(tps)
        later = {tp: (self.ends[tp], now[tp]) for tp in tps}
        events = list(self._read({tp: later[tp] for tp in self.events_tps}))
        results = list(self._read({tp: later[tp] for tp in self.results_tps}))
        return events, results

    def close(self) -> None:
        self.consumer.close()

    def __enter__(self) -> WriteSideLog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _read(self, ranges: dict[TopicPartition, tuple[int, int]]) -> Iterator[LoggedEvent]:
        consumer = self.consumer
        consumer.pause(*consumer.assignment())
        open_tps = {tp for tp, (start, end) in ranges.items() if start < end}
        for tp in open_tps:
            consumer.seek(tp, ranges[tp][0])
        consumer.resume(*open_tps)
        ends = {tp: ranges[tp][1] for tp in open_tps}
        yield from decoded(records_until(consumer, ends), self.codec)  # seeks when iterated
