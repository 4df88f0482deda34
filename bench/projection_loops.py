"""Consume-and-project loops over a filled ``orders.events``, timed.

Every loop reads the whole topic from the beginning with aiokafka (read_committed, as
Faust does) up to the end offsets taken at the start. The baseline only decodes; the
projection loops then do what the live agent ``project_read_models`` does with each
batch: build ``SourceEvent``s and ``await asyncio.gather(feed_until_written(...))`` on
its sinks (``streams.runtime.projections``), i.e. the same ``project``/``feed`` code
and the same sink classes, batched by the worker's batch size.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from processors.projections.pipeline import WritePipeline
from processors.projections.position import SourceEvent
from streams.adapters.codec import AvroCodec
from streams.adapters.kafka_clients import aiokafka_config
from streams.config.settings import Settings
from streams.config.topics import ORDER_EVENTS
from streams.runtime.projections.writes import feed_all


@dataclass(frozen=True)
class LoopResult:
    name: str
    events: int
    seconds: float
    batch_size: int

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


async def _consume(
    settings: Settings, codec: AvroCodec, batch_size: int, batch_seconds: float, on_batch
) -> int:
    topic = settings.topic(ORDER_EVENTS.name)
    consumer = AIOKafkaConsumer(
        **aiokafka_config(settings),
        enable_auto_commit=False,
        isolation_level="read_committed",
        # Not the default "latest": a reset racing seek_to_beginning() would then jump
        # to the end and silently skip the whole log (seen here with aiokafka 0.14).
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        # The bench created the topic from its spec (an assign-only aiokafka consumer
        # has no metadata to ask).
        tps = [TopicPartition(topic, p) for p in range(ORDER_EVENTS.partitions)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        await consumer.seek_to_beginning(*tps)
        remaining = {tp for tp in tps if ends[tp] > 0}
        count = 0
        while remaining:
            fetched = await consumer.getmany(
                *remaining, timeout_ms=int(batch_seconds * 1000), max_records=batch_size
            )
            batch = []
            for tp, records in fetched.items():
                for record in records:
                    if record.offset < ends[tp]:
                        message = codec.decode(record.value)
                        batch.append(
                            SourceEvent(
                                message, tp.topic, tp.partition, record.offset, record.timestamp
                            )
                        )
            for tp in list(remaining):
                # The position, not the last record: a transactional log ends in a marker.
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
            if batch:
                await on_batch(batch)
                count += len(batch)
        return count
    finally:
        await consumer.stop()


async def _nothing(batch: Sequence[SourceEvent]) -> None:
    return None


def run_loop(
    name: str,
    settings: Settings,
    codec: AvroCodec,
    sink_factories: Sequence[Callable[[], object]],
    batch_size: int,
) -> LoopResult:
    """Time one pass over the topic feeding the sinks the factories build (none: the
    decode-only baseline). Sinks are built before the clock starts."""
    sinks = [make() for make in sink_factories]

    async def consume_and_project() -> int:
        if not sinks:
            return await _consume(settings, codec, batch_size, settings.batch_seconds, _nothing)
        pipeline = WritePipeline(functools.partial(feed_all, sinks))
        count = await _consume(settings, codec, batch_size, settings.batch_seconds, pipeline.submit)
        await pipeline.drain()
        return count

    started = time.perf_counter()
    events = asyncio.run(consume_and_project())
    seconds = time.perf_counter() - started
    for sink in sinks:
        sink.close()
    return LoopResult(name, events, seconds, batch_size)
