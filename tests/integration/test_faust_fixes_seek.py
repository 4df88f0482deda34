"""``faust_fixes`` fix 7 on a real broker: rewinding to the committed position must rewind a
partition that has no committed offset yet to its beginning.

Faust rewinds its stream partitions (``perform_seek``) whenever it has dropped records it
fetched; aiokafka's ``seek_to_committed`` leaves a partition without a committed offset
(or with 0) where the fetcher was, so the dropped records were never delivered again: the
first command of a partition went without an outcome in the takeover test.
"""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from streams.adapters.admin import create_topics, delete_namespace_topics
from streams.adapters.kafka_clients import aiokafka_config
from streams.config.settings import Settings
from streams.config.topics import TopicSpec
from streams.runtime.faust_fixes import seek_to_committed_or_beginning

pytestmark = pytest.mark.integration

SPEC = TopicSpec("fix7.source", 1)


@pytest.fixture
def topic():
    settings = Settings.from_env({**os.environ, "ORDERFLOW_NAMESPACE": f"t{uuid.uuid4().hex[:10]}"})
    create_topics(settings, [SPEC])
    try:
        yield settings, settings.topic(SPEC.name)
    finally:
        delete_namespace_topics(settings)


async def _scenario(settings: Settings, name: str) -> dict[str, int]:
    """Positions of a consumer of ``name`` after it read 5 of 10 records and was rewound
    by aiokafka alone, by the fix, by the fix told to leave the partition, and by the fix
    once offset 3 is committed."""
    producer = AIOKafkaProducer(**aiokafka_config(settings), acks="all")
    await producer.start()
    try:
        for n in range(10):
            await producer.send_and_wait(name, f"m{n}".encode(), key=b"k", partition=0)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        **aiokafka_config(settings),
        group_id=f"fix7-{uuid.uuid4().hex[:8]}",  # a group that never committed
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    tp = TopicPartition(name, 0)
    positions: dict[str, int] = {}
    try:
        consumer.assign([tp])

        async def read_five() -> None:
            got = 0
            while got < 5:
                records = await consumer.getmany(tp, timeout_ms=1000, max_records=5 - got)
                got += len(records.get(tp, []))

        await read_five()
        positions["read"] = await consumer.position(tp)
        await consumer.seek_to_committed()
        positions["aiokafka"] = await consumer.position(tp)
        await seek_to_committed_or_beginning(consumer, lambda _tp: True)
        positions["left"] = await consumer.position(tp)
        await seek_to_committed_or_beginning(consumer, lambda _tp: False)
        positions["fix"] = await consumer.position(tp)
        await consumer.commit({tp: OffsetAndMetadata(3, "")})
        await read_five()
        await seek_to_committed_or_beginning(consumer, lambda _tp: False)
        positions["committed 3"] = await consumer.position(tp)
    finally:
        await consumer.stop()
    return positions


def test_a_partition_without_a_committed_offset_is_rewound_to_its_beginning(topic):
    settings, name = topic
    positions = asyncio.run(_scenario(settings, name))
    assert positions["read"] == 5
    assert positions["aiokafka"] == 5  # aiokafka alone leaves it: the records read are lost
    assert positions["left"] == 5  # changelog partitions are left to recovery
    assert positions["fix"] == 0
    assert positions["committed 3"] == 3
