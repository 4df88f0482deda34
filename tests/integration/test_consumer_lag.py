"""Consumer lag counts records, not offsets: transaction markers are no lag.

Under exactly-once a consumer group that has handled every record commits the offset
after its last record, while the end offset is after the transaction's commit marker:
``end - committed`` is 1 per partition at rest. ``consumer_lag`` (``orderflow lag``
and the ``orderflow_consumer_lag`` metric) must say 0 there, and still count records
that are really unread.
"""

from __future__ import annotations

import uuid

import pytest
from kafka import KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from streams.adapters.admin import create_topics, delete_namespace_topics
from streams.adapters.kafka_clients import kafka_python_config
from streams.config.topics import ORDER_EVENTS
from streams.ops.consumer_groups import commit_offsets
from streams.ops.lag import consumer_lag

pytestmark = pytest.mark.integration

TRANSACTIONS = 5


@pytest.fixture
def topic(settings):
    create_topics(settings, [ORDER_EVENTS])
    yield settings.topic(ORDER_EVENTS.name)
    delete_namespace_topics(settings)


def produce_in_transactions(settings, topic: str, partition: int, count: int) -> list[int]:
    """``count`` transactions of one record each; the offsets of the records."""
    producer = KafkaProducer(
        **kafka_python_config(settings),
        transactional_id=f"lag-test-{uuid.uuid4().hex[:8]}",
        enable_idempotence=True,
    )
    try:
        producer.init_transactions()
        offsets = []
        for n in range(count):
            producer.begin_transaction()
            future = producer.send(topic, key=b"k", value=f"v{n}".encode(), partition=partition)
            producer.commit_transaction()
            offsets.append(future.get(timeout=10).offset)
        return offsets
    finally:
        producer.close()


def commit(settings, group: str, tp: TopicPartition, offset: int) -> None:
    offsets = {tp: OffsetAndMetadata(offset, "", -1)}
    commit_offsets(settings, group, offsets)


def test_an_idle_group_after_transactional_traffic_has_no_lag(settings, topic):
    offsets = produce_in_transactions(settings, topic, partition=0, count=TRANSACTIONS)
    group = f"{settings.app_id}-idle"
    tp = TopicPartition(topic, 0)
    commit(settings, group, tp, offsets[-1] + 1)  # as Faust commits: after the last record

    [row] = consumer_lag(settings, group)

    assert row.end > row.committed, "the marker after the last record must be in the log"
    assert (row.lag, row.exact) == (0, True)


def test_records_still_unread_are_counted_without_the_markers_between_them(settings, topic):
    offsets = produce_in_transactions(settings, topic, partition=1, count=TRANSACTIONS)
    group = f"{settings.app_id}-behind"
    tp = TopicPartition(topic, 1)
    commit(settings, group, tp, offsets[1] + 1)  # two records handled, three to go

    [row] = consumer_lag(settings, group)

    # The marker of the second transaction, then three records and their markers.
    assert row.end - row.committed == 1 + 2 * (TRANSACTIONS - 2)
    assert (row.lag, row.exact) == (TRANSACTIONS - 2, True)


def test_beyond_the_counting_bound_the_naive_lag_is_an_upper_bound(settings, topic):
    produce_in_transactions(settings, topic, partition=2, count=TRANSACTIONS)
    group = f"{settings.app_id}-far-behind"
    commit(settings, group, TopicPartition(topic, 2), 0)

    [row] = consumer_lag(settings, group, count_at_most=3)

    assert (row.lag, row.exact) == (2 * TRANSACTIONS, False)
