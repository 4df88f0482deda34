"""Writing a batch of positioned events to the read-model stores: ``feed`` (project and
flush, what replay and the tests call), ``feed_until_written`` (retry with back-off while
a store is down, park what it refuses) and ``feed_all`` (every store at once). No Faust.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from processors.projections.position import SourceEvent
from processors.projections.project import project
from streams.runtime import metrics
from streams.runtime.projections.poison import Refused, merge_refusals, store_name, write_isolating

log = logging.getLogger(__name__)


async def feed_all(sinks: Sequence[object], events: Sequence[SourceEvent]) -> list[Refused]:
    """Write ``events`` to every sink; the sinks are independent stores, written
    concurrently. Returns the events some store refused (one entry per event)."""
    refused = await asyncio.gather(*(feed_until_written(sink, events) for sink in sinks))
    return merge_refusals(refused)


async def feed_until_written(sink, events: Sequence[SourceEvent]) -> list[Refused]:
    """Feed ``sink``, retrying with backoff while its store is unreachable; returns
    the events the store refused (see ``poison``).

    Retrying holds the partition (and its uncommitted offsets) instead of crashing the
    agent: Faust acknowledges the in-flight events of a crashed agent, so a crash would
    lose them, while a wait only delays them. The writes are idempotent, so a retry of a
    half-written batch is harmless. Whatever is not a data error counts as an outage
    here, a bug included: it stops this read model (with the error in the log) rather
    than dropping its events. The loop is written out rather than given to tenacity: it
    never gives up, and each failure must empty the sink's buffer and log the outage once
    (its start, then its end), so a policy there would be callbacks around the same lines.
    """
    delay, failures, since = 0.2, 0, 0.0
    while True:
        try:
            started = time.perf_counter()
            _, refused = await asyncio.to_thread(write_isolating, sink, events, feed)
            observe_write(store_name(sink).lower(), len(events) - len(refused), started)
            if failures:
                log.warning(
                    "%s written again after %d failed attempt(s) over %.1fs",
                    store_name(sink),
                    failures,
                    time.monotonic() - since,
                )
            for event, reason in refused:
                log.warning(
                    "%s[%s]@%s (%s) is parked: %s",
                    event.topic,
                    event.partition,
                    event.offset,
                    event.name,
                    reason,
                )
            return refused
        except Exception as exc:
            failures += 1
            if failures == 1:  # once per outage: the retries say nothing new
                since = time.monotonic()
                log.error(
                    "writing %d events to %s failed: %s. Retrying with back-off (up to "
                    "30 s apart) until it answers; the events wait, nothing is dropped",
                    len(events),
                    store_name(sink),
                    exc,
                )
            else:
                log.debug("%s: attempt %d failed: %s", store_name(sink), failures, exc)
            sink.discard()  # fed anew: the retry sends exactly this batch's writes
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)


def observe_write(store: str, written: int, started: float) -> None:
    """One batch written to ``store``: its events and how long the write took."""
    metrics.PROJECTION_BATCH_SECONDS.labels(store).observe(time.perf_counter() - started)
    metrics.EVENTS_PROJECTED.labels(store).inc(written)


def feed(sink, events: Sequence[SourceEvent]) -> int:
    """Project ``events`` into ``sink`` and flush; what replay and tests call too."""
    project(events, sink)
    return sink.flush()
