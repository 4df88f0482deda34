"""Splitting a refused batch: the events a store refuses are found, every other event is
written once per attempt and in log order, and an outage is never mistaken for them."""

from __future__ import annotations

import asyncio

import pytest
import redis
from clickhouse_connect.driver.exceptions import DataError

from processors.projections.position import SourceEvent
from streams.messages import Message
from streams.ops.replay.writers import SinkWriter
from streams.ops.replay.writers import feed_all as replay_feed_all
from streams.runtime.projections.poison import Refused, merge_refusals, write_isolating
from streams.runtime.projections.writes import feed, feed_all, feed_until_written

pytestmark = pytest.mark.unit


class PickySink:
    """Stores ``E`` events in order; refuses a flush holding a ``bad`` offset the way
    clickhouse-connect refuses a value its column cannot hold; ``down`` flushes fail
    like an unreachable Redis."""

    store = "Picky"

    def __init__(self, bad=(), down: int = 0) -> None:
        self.bad, self.down = set(bad), down
        self.pending: list[int] = []
        self.rows: list[int] = []
        self.flushes = 0
        self.handlers = {"E": self.row}

    @staticmethod
    def row(event: SourceEvent) -> list[int]:
        if event.body.get("unreadable"):
            raise KeyError("quantity")
        return [event.offset]

    def add(self, writes) -> None:
        self.pending += writes

    def flush(self) -> int:
        self.flushes += 1
        if self.down:
            self.down -= 1
            raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379.")
        refused = self.bad.intersection(self.pending)
        if refused:
            raise DataError(f"Unable to create native array for column `q`: {sorted(refused)}")
        self.rows += self.pending
        sent, self.pending = len(self.pending), []
        return sent

    def discard(self) -> None:
        self.pending = []

    def close(self) -> None:
        self.flush()


def log_of(n: int, **bodies) -> list[SourceEvent]:
    return [SourceEvent(Message("E", bodies.get(f"e{i}", {})), "t", 0, i, 0) for i in range(n)]


def offsets(refused: list[Refused]) -> list[int]:
    return [r.event.offset for r in refused]


def test_a_clean_batch_is_one_write():
    sink = PickySink()
    written, refused = write_isolating(sink, log_of(50), feed)
    assert (written, refused, sink.flushes) == (50, [], 1)


def test_the_refused_events_are_found_and_the_rest_stored_in_log_order():
    sink = PickySink(bad={3, 17, 18, 49})
    written, refused = write_isolating(sink, log_of(50), feed)
    assert offsets(refused) == [3, 17, 18, 49]
    assert sink.rows == [i for i in range(50) if i not in {3, 17, 18, 49}]
    assert written == 46
    assert all(r.reason.startswith("Picky refused it: DataError: Unable") for r in refused)
    assert sink.flushes < 50  # split, not one by one


def test_an_event_the_mapping_cannot_read_is_refused_like_a_store_refusal():
    sink = PickySink()
    written, refused = write_isolating(sink, log_of(8, e5={"unreadable": True}), feed)
    assert offsets(refused) == [5] and "KeyError: 'quantity'" in refused[0].reason
    assert sink.rows == [0, 1, 2, 3, 4, 6, 7]


def test_an_outage_is_not_split_and_nothing_is_refused():
    sink = PickySink(bad={2}, down=1)
    with pytest.raises(redis.ConnectionError):
        write_isolating(sink, log_of(10), feed)
    assert sink.flushes == 1 and sink.rows == []


def test_the_live_loop_retries_an_outage_then_isolates_with_nothing_buffered_twice(monkeypatch):
    async def no_wait(_delay: float) -> None:
        return None

    monkeypatch.setattr(asyncio, "sleep", no_wait)
    sink = PickySink(down=3)
    assert asyncio.run(feed_until_written(sink, log_of(10))) == []
    assert sink.rows == list(range(10))  # each once: a retry starts from an empty buffer
    sink = PickySink(bad={4}, down=3)
    refused = asyncio.run(feed_until_written(sink, log_of(10)))
    assert offsets(refused) == [4]
    assert sink.rows == [0, 1, 2, 3, 5, 6, 7, 8, 9]


def test_an_event_two_stores_refuse_is_one_dead_letter_with_both_reasons():
    first, second = PickySink(bad={1, 3}), PickySink(bad={3})
    second.store = "Other"
    refused = asyncio.run(feed_all([first, second], log_of(5)))
    assert offsets(refused) == [1, 3]
    assert refused[1].reason.startswith("Picky refused it") and "; Other refused it" in (
        refused[1].reason
    )


def test_merge_keeps_log_order_across_partitions():
    a = SourceEvent(Message("E", {}), "t", 1, 0, 0)
    b = SourceEvent(Message("E", {}), "t", 0, 9, 0)
    merged = merge_refusals([[Refused(a, "x")], [Refused(b, "y")]])
    assert [(r.event.partition, r.reason) for r in merged] == [(0, "y"), (1, "x")]


def test_a_replay_skips_and_counts_the_events_a_store_refuses_and_goes_on():
    sink = PickySink(bad={2, 7})
    writer = SinkWriter("picky", sink)
    events = log_of(10)
    replay_feed_all([writer], [events[:5], events[5:]])
    assert sink.rows == [0, 1, 3, 4, 5, 6, 8, 9]
    assert (writer.written, writer.refused) == (8, 2)


def test_an_outage_is_logged_once_at_its_start_and_once_at_its_end(monkeypatch, caplog):
    """Five failed attempts are one ERROR (what failed, that the events wait) and one
    WARNING when the store answers again, not a line per retry."""

    async def no_wait(_delay: float) -> None:
        return None

    monkeypatch.setattr(asyncio, "sleep", no_wait)
    with caplog.at_level("DEBUG", logger="streams.runtime.projections.writes"):
        assert asyncio.run(feed_until_written(PickySink(down=5), log_of(4))) == []
    shown = [(r.levelname, r.getMessage()) for r in caplog.records if r.levelno >= 30]
    assert len(shown) == 2, shown
    assert shown[0][0] == "ERROR" and "writing 4 events to Picky failed" in shown[0][1]
    assert "Error 111 connecting" in shown[0][1] and "nothing is dropped" in shown[0][1]
    assert shown[1][0] == "WARNING"
    assert shown[1][1].startswith("Picky written again after 5 failed attempt(s) over ")
