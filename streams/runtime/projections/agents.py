"""Live projection agents: batches from ``orders.events`` into the Redis and ClickHouse sinks.

Each agent takes a batch (size and time bounded), decodes it, walks the one dispatch
table through ``project`` and flushes; the batch's events are acknowledged (so their
offsets can be committed) only once every sink has flushed them. A crash re-delivers at
most the unacknowledged batches, and the sinks' idempotent writes absorb them. The write
of one batch overlaps the fetch and decode of the next (``pipeline.WritePipeline``).

An event a store refuses (a *data* error: a value its column cannot hold, a key of the
wrong kind) is found by splitting the batch (``poison.write_isolating``) and parked on
the dead-letter topic with the store's reason, in the same transaction as the batch's
offsets, so it is parked once and never written again; the rest of the batch and every
partition go on. A store that is down is retried with back-off and nothing is parked.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Sequence

import faust

from processors.projections.pipeline import WritePipeline
from processors.projections.position import SourceEvent
from streams.adapters.codec import AvroCodec
from streams.config.settings import Settings
from streams.runtime.deadletter import STORE_REFUSED, DeadLetters
from streams.runtime.faust_fixes import COMMIT_FENCE, make_current
from streams.runtime.projections.poison import Refused
from streams.runtime.projections.writes import feed_all

log = logging.getLogger(__name__)

# How long shutdown waits for the batch being written (a store that is down makes the
# write retry; its batch is then left unacknowledged for the next worker).
_SHUTDOWN_WRITE_SECONDS = 15.0


async def decode_batch(
    batch: Sequence[faust.EventT], codec: AvroCodec, dead_letters: DeadLetters
) -> list[SourceEvent]:
    decoded = []
    for event in batch:
        msg = event.message
        message = await dead_letters.decode(event, codec)
        if message is None:
            continue
        timestamp_ms = int(msg.timestamp * 1000)  # Faust gives seconds as a float
        decoded.append(SourceEvent(message, msg.topic, msg.partition, msg.offset, timestamp_ms))
    return decoded


def build_projection_agent(
    app: faust.App,
    *,
    source: faust.TopicT,
    codec: AvroCodec,
    dead_letters: DeadLetters,
    sink_factories: Sequence[Callable[[], object]],
    settings: Settings,
):
    """Register ``project_read_models``: decode each batch once, feed every sink, flush.
    ``sink_factories`` build the writers (``streams.bootstrap.Services.sink_factories``:
    the Redis and ClickHouse sinks), in a thread when the agent starts."""

    @app.agent(source, name="project_read_models")
    async def project_read_models(stream):
        sinks = [await asyncio.to_thread(make) for make in sink_factories]
        log.info("projecting %s into %d read models", ", ".join(source.topics), len(sinks))
        # The write retries outages and parks refusals; what still escapes (a dead letter
        # that cannot be sent, an acknowledgement that fails) stops the worker at once (a
        # supervisor restarts it) and the unacknowledged batch is delivered again.
        pipeline = WritePipeline(functools.partial(feed_all, sinks), on_error=app.crash)
        try:
            # noack_take: the events are acknowledged by hand, after the write.
            async for batch in stream.noack_take(settings.batch_size, settings.batch_seconds):
                events = await decode_batch(batch, codec, dead_letters)
                settle = functools.partial(park_then_ack, stream, batch, dead_letters)
                await pipeline.submit(events, settle)
        finally:
            # Flush on shutdown: the batch in flight is written and acknowledged first.
            if await pipeline.finish(timeout=_SHUTDOWN_WRITE_SECONDS):
                for sink in sinks:
                    await asyncio.to_thread(sink.close)
            else:
                log.warning(
                    "a batch was still being written after %.0fs at shutdown; it stays "
                    "unacknowledged and will be delivered again",
                    _SHUTDOWN_WRITE_SECONDS,
                )

    return project_read_models


async def park_then_ack(
    stream, batch: Sequence[faust.EventT], dead_letters: DeadLetters, refused: list[Refused] | None
) -> None:
    """Park the events the stores refused, then acknowledge the whole batch.

    Inside the commit fence, each dead letter sent in its source partition's transaction
    (``make_current``): the dead letters and the batch's offsets commit together, so a
    crash neither loses a refused event nor parks it twice.
    """
    async with COMMIT_FENCE:
        if refused:
            by_position = {
                (e.message.topic, e.message.partition, e.message.offset): e for e in batch
            }
            for event, reason in refused:
                source = by_position[(event.topic, event.partition, event.offset)]
                make_current(source)
                await dead_letters.park(source, reason, kind=STORE_REFUSED)
        for e in batch:
            await stream.ack(e)
