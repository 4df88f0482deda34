"""The one place events are projected: the live agents, replay and the tests call it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from processors.projections.position import SourceEvent
from processors.projections.sink import Sink

log = logging.getLogger(__name__)


def project(events: Sequence[SourceEvent], sink: Sink) -> int:
    """Turn ``events`` into writes with ``sink.handlers`` and add them to the sink.

    Events whose name the sink has no handler for (other events sharing the topic, or
    newer event types) are skipped. Returns how many events were projected; the rest,
    ``len(events)`` minus that, were skipped. Nothing is sent until ``sink.flush()``.
    """
    handlers = sink.handlers
    writes: list[Any] = []
    projected = 0
    for event in events:
        handler = handlers.get(event.message.name)
        if handler is None:
            continue
        writes.extend(handler(event))
        projected += 1
    if writes:
        sink.add(writes)
    skipped = len(events) - projected
    if skipped:
        log.debug("skipped %d event(s) with no handler in %s", skipped, type(sink).__name__)
    return projected
