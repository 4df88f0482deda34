"""``project`` walks the sink's dispatch table: handled events become writes, others are skipped."""

from __future__ import annotations

import pytest

from processors.projections.position import SourceEvent
from processors.projections.project import project
from streams.messages import Message

pytestmark = pytest.mark.unit


class RecordingSink:
    handlers = {
        "OrderCreated": lambda e: [("created", e.offset)],
        "OrderShipped": lambda e: [("shipped", e.offset), ("extra", e.offset)],
    }

    def __init__(self):
        self.added: list[list] = []

    def add(self, writes):
        self.added.append(list(writes))

    def flush(self) -> int:
        return 0

    def close(self) -> None:
        pass


def at(name: str, offset: int) -> SourceEvent:
    return SourceEvent(Message(name, {}), "orders.events", 0, offset, 0)


def test_handled_events_become_one_batch_of_writes_and_others_are_skipped():
    sink = RecordingSink()
    events = [at("OrderCreated", 0), at("SomethingNew", 1), at("OrderShipped", 2)]
    assert project(events, sink) == 2
    assert sink.added == [[("created", 0), ("shipped", 2), ("extra", 2)]]


def test_nothing_is_added_when_nothing_is_handled():
    sink = RecordingSink()
    assert project([at("SomethingNew", 0)], sink) == 0
    assert project([], sink) == 0
    assert sink.added == []
