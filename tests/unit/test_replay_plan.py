"""The plan: starts by offsets_for_times (end offset where nothing is that recent), ends
fixed by the end offsets or the first offset after --to; and the sink writer threads."""

from __future__ import annotations

import threading

import pytest
from kafka import TopicPartition
from kafka.structs import OffsetAndTimestamp

from streams.ops.replay.plan import PartitionRange, covers_whole_log, make_plan
from streams.ops.replay.writers import SinkWriter, feed_all

pytestmark = pytest.mark.unit

T = "ns.orders.events"


class FakeConsumer:
    """Two partitions; records at timestamps 100, 200, ... with offsets 0, 1, ..."""

    def __init__(self, counts=(5, 3), beginnings=(0, 0)) -> None:
        self.counts, self.beginnings = counts, beginnings

    def partitions_for_topic(self, topic):
        return {0, 1} if topic == T else None

    def beginning_offsets(self, tps):
        return {tp: self.beginnings[tp.partition] for tp in tps}

    def end_offsets(self, tps):
        return {tp: self.counts[tp.partition] for tp in tps}

    def offsets_for_times(self, times):
        out = {}
        for tp, ms in times.items():
            offset = max(0, -(-ms // 100) - 1)  # first record with 100 * (offset + 1) >= ms
            out[tp] = found_at(offset) if offset < self.counts[tp.partition] else None
        return out


def found_at(offset: int) -> OffsetAndTimestamp:
    return OffsetAndTimestamp(offset, 100 * (offset + 1), -1)


def test_start_is_the_first_record_at_or_after_the_time_else_the_end():
    plan = make_plan(FakeConsumer(), [T], 350, None)
    assert [(r.partition, r.start_offset, r.end_offset) for r in plan] == [(0, 3, 5), (1, 3, 3)]
    assert [r.records for r in plan] == [2, 0]


def test_the_end_is_the_first_offset_after_to():
    plan = make_plan(FakeConsumer(), [T], 100, 300)  # records at 100, 200, 300
    assert [(r.start_offset, r.end_offset) for r in plan] == [(0, 3), (0, 3)]
    plan = make_plan(FakeConsumer(), [T], 100, 250)
    assert [(r.start_offset, r.end_offset) for r in plan] == [(0, 2), (0, 2)]


def test_a_plan_from_the_beginning_covers_the_whole_log():
    assert covers_whole_log(make_plan(FakeConsumer(), [T], None, None))
    assert covers_whole_log(make_plan(FakeConsumer(), [T], 50, None))
    assert not covers_whole_log(make_plan(FakeConsumer(), [T], 150, None))
    trimmed = FakeConsumer(beginnings=(2, 0))  # retention removed the first records
    assert covers_whole_log(make_plan(trimmed, [T], None, None))


def test_dry_run_row_shape():
    row = PartitionRange(T, 1, 4, 9).to_dict()
    assert {"topic", "partition", "start_offset", "end_offset", "records"} <= set(row)
    assert row["records"] == 5


class ListSink:
    handlers = {"E": lambda event: [event]}

    def __init__(self, fail_on=None) -> None:
        self.rows, self.pending, self.fail_on = [], [], fail_on
        self.threads = set()

    def add(self, writes):
        self.pending += writes

    def flush(self):
        self.threads.add(threading.current_thread().name)
        if self.fail_on in self.pending:
            raise OSError("store down")
        self.rows += self.pending
        sent, self.pending = len(self.pending), []
        return sent

    def close(self):
        self.flush()


class Ev:
    def __init__(self, n):
        self.n = n
        self.message = type("M", (), {"name": "E"})()


def test_writers_keep_order_and_run_off_the_reading_thread():
    sink = ListSink()
    events = [Ev(i) for i in range(10)]
    writer = SinkWriter("list", sink)
    feed_all([writer], [events[:4], events[4:]])
    assert [e.n for e in sink.rows] == list(range(10))
    assert writer.written == 10 and sink.threads == {"replay-list"}


def test_a_failing_store_stops_the_replay_with_its_error():
    events = [Ev(i) for i in range(6)]
    sink = ListSink(fail_on=events[1])
    with pytest.raises(RuntimeError, match="writing to list failed: store down"):
        feed_all([SinkWriter("list", sink)], [events[:3], events[3:]] * 20)
    assert sink.rows == []


def test_tp_is_a_topic_partition():
    assert PartitionRange(T, 0, 0, 1).tp == TopicPartition(T, 0)
