"""Finding the events a store refuses, so one bad event never stops a read model.

Events already in the log were accepted once (by an older version, another producer or
a bug) and cannot be changed; a read model that retried a batch the store refuses would
retry it forever, and every partition behind it would wait. ``write_isolating`` writes a
batch and, when the store refuses it with a *data* error (``sinks.errors``), splits it in
halves and writes each, down to the single events that the store refuses on their own:
k bad events among n cost about 2·k·log2(n) extra writes, and a clean batch costs
nothing. Outages are not split: they propagate, and the caller retries the whole batch.

Splitting re-sends writes that were stored before the refusal: harmless, every sink is
idempotent (version-checked Redis updates, deduplicating ClickHouse tables), and the
halves are written in log order, so a sink never sees an event before an earlier one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import NamedTuple

from processors.projections.position import SourceEvent
from sinks.errors import describe, is_data_error

log = logging.getLogger(__name__)

Write = Callable[[object, Sequence[SourceEvent]], int]


class Refused(NamedTuple):
    """An event a store refused, and the store's reason (it names the store)."""

    event: SourceEvent
    reason: str


def store_name(sink: object) -> str:
    return getattr(sink, "store", type(sink).__name__)


def write_isolating(
    sink, events: Sequence[SourceEvent], write: Write, *, _split: bool = False
) -> tuple[int, list[Refused]]:
    """``write(sink, events)``, finding the events ``sink`` refuses by bisection.

    Returns (writes sent, refused events in log order). Raises what ``write`` raised
    when it is not a data error (an outage: the caller retries).
    """
    try:
        return write(sink, events), []
    except Exception as exc:
        if not is_data_error(exc):
            raise
        sink.discard()  # the refused batch's buffered writes; the parts are fed anew
        if len(events) == 1:
            reason = f"{store_name(sink)} refused it: {describe(exc)}"
            return 0, [Refused(events[0], reason)]
        (log.debug if _split else log.info)(
            "%s refused a batch of %d events (%s); splitting it to find the bad event",
            store_name(sink),
            len(events),
            describe(exc),
        )
    half = len(events) // 2
    sent_first, refused_first = write_isolating(sink, events[:half], write, _split=True)
    sent_second, refused_second = write_isolating(sink, events[half:], write, _split=True)
    return sent_first + sent_second, refused_first + refused_second


def merge_refusals(per_sink: Sequence[Sequence[Refused]]) -> list[Refused]:
    """One ``Refused`` per event, its reasons from every store that refused it joined,
    in log order: an event is parked once however many stores refuse it."""
    reasons: dict[tuple[str, int, int], list[str]] = {}
    events: dict[tuple[str, int, int], SourceEvent] = {}
    for refused in per_sink:
        for event, reason in refused:
            position = (event.topic, event.partition, event.offset)
            events[position] = event
            reasons.setdefault(position, []).append(reason)
    return [Refused(events[p], "; ".join(reasons[p])) for p in sorted(events)]
