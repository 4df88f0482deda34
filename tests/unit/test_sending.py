"""``streams.runtime.sending.send_encoded`` sends where Faust with ``faust_fixes`` fix 4 sends:
the same partition and the same transaction (the source partition's, in a stream), for
every kind of send; and its delivery is awaited before
the batch in hand is acknowledged.

Both paths run against the same fake app, consumer and producers: the fix's
``TransactionManager.send`` (the patched function itself) and ``send_encoded``; each
records which aiokafka producer (plain, or the transactional one of an id) got the record
and with which partition.
"""

from __future__ import annotations

import asyncio
import weakref
from types import SimpleNamespace

import pytest
from faust.exceptions import ProducerSendError
from faust.streams import _current_event
from faust.transport.consumer import TransactionManager

from streams.runtime import faust_fixes, sending
from streams.runtime.sending import send_encoded

pytestmark = pytest.mark.unit

CONSUMED = {"ns.orders.commands": 4, "ns.orders.events": 4}  # topic -> partitions
GROUPS = {"ns.orders.commands": 0, "ns.orders.events": 1}


class AioProducer:
    """An aiokafka producer that records its sends."""

    def __init__(self, name: str, sent: list, fail: Exception | None = None) -> None:
        self.name, self.sent, self.fail = name, sent, fail

    async def send(self, topic, value, key=None, partition=None, **_kwargs):
        self.sent.append((self.name, topic, key, partition))
        delivery = asyncio.get_running_loop().create_future()
        if self.fail is not None:
            delivery.set_exception(self.fail)
        else:
            delivery.set_result(("metadata", topic))
        return delivery


class App:
    """What the send paths read of a Faust app."""

    def __init__(self, transactional: bool, fail: Exception | None = None) -> None:
        self.sent: list = []
        self.in_transaction = transactional
        self.conf = SimpleNamespace(id="orderflow-x")
        self.assignor = SimpleNamespace(group_for_topic=GROUPS.__getitem__)
        self.consumer = SimpleNamespace(key_partition=self.key_partition)
        tids = [f"orderflow-x-{g}-{p}" for g in GROUPS.values() for p in range(4)]
        plain = AioProducer("plain", self.sent, fail)
        self.producer = SimpleNamespace(
            _ensure_producer=lambda: plain,
            _transaction_producers={t: AioProducer(t, self.sent, fail) for t in tids},
            _trn_locks={t: asyncio.Lock() for t in tids},
        )

    @staticmethod
    def key_partition(topic: str, key: bytes | None, partition: int | None) -> int | None:
        """As the consumer's: None for a topic it does not consume."""
        if topic not in CONSUMED:
            return None
        return partition if partition is not None else sum(key or b"") % CONSUMED[topic]


class FaustDriver:
    """Faust's aiokafka ``Producer.send``, reduced to its choice of aiokafka producer."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def send(
        self, topic, key, value, partition, timestamp, headers, *, transactional_id=None
    ):
        p = self.app.producer
        aio = (
            p._transaction_producers[transactional_id] if transactional_id else p._ensure_producer()
        )
        return await aio.send(topic, value, key=key, partition=partition)


# Faust's own ``TransactionManager.send`` (what fix 4 falls back to outside a stream).
FAUST_SEND = getattr(TransactionManager.send, "__wrapped__", TransactionManager.send)


async def via_faust(app: App, topic: str, key: bytes) -> None:
    """The path of ``topic.send``: Faust's ``TransactionManager.send`` as fix 4 patches it
    under exactly_once, the driver's plain producer otherwise."""
    if app.in_transaction:
        manager = SimpleNamespace(app=app, consumer=app.consumer, producer=FaustDriver(app))
        fixed_send = faust_fixes._outputs_join_the_source_transaction(FAUST_SEND)
        await fixed_send(manager, topic, key, b"v", None, None, None)
    else:
        await FaustDriver(app).send(topic, key, b"v", None, None, None)


class Event:
    def __init__(self, topic: str, partition: int) -> None:
        self.message = SimpleNamespace(topic=topic, partition=partition)


def both_paths(transactional: bool, topic: str, key: bytes, source: Event | None):
    """(Faust's send, send_encoded's send) of one record: (producer, topic, key, partition)."""

    async def run(path) -> list:
        app = App(transactional)
        token = _current_event.set(weakref.ref(source) if source else None)
        try:
            await path(app, topic, key)
        finally:
            _current_event.reset(token)
        return app.sent

    async def encoded(app, topic, key):
        await send_encoded(app, topic, key, b"v")

    return asyncio.run(run(via_faust)), asyncio.run(run(encoded))


SOURCE = Event("ns.orders.commands", 1)


@pytest.mark.parametrize(
    ("transactional", "topic", "source", "expected"),
    [
        # In a stream, the source partition's transaction; a consumed topic's partition is
        # the key's, any other's left to the producer.
        (True, "ns.orders.events", SOURCE, ("orderflow-x-0-1", 3)),
        (True, "ns.orders.command-results", SOURCE, ("orderflow-x-0-1", None)),
        # Outside stream iteration, as Faust: a consumed topic's partition and transaction,
        # any other through the plain producer.
        (True, "ns.orders.command-results", None, ("plain", None)),
        (True, "ns.orders.events", None, ("orderflow-x-1-3", 3)),
        # at_least_once: always the plain producer, its own partitioner.
        (False, "ns.orders.events", SOURCE, ("plain", None)),
        (False, "ns.orders.command-results", SOURCE, ("plain", None)),
    ],
)
def test_send_encoded_picks_the_producer_and_partition_faust_with_fix_4_picks(
    transactional, topic, source, expected
):
    key = b"order-11"  # sum of its bytes % 4 == 3
    faust_sent, encoded_sent = both_paths(transactional, topic, key, source)
    assert encoded_sent == faust_sent
    ((producer, sent_topic, sent_key, partition),) = encoded_sent
    assert (producer, partition) == expected
    assert (sent_topic, sent_key) == (topic, key)


def test_in_a_batch_the_delivery_is_left_to_the_batch():
    async def run() -> list:
        app = App(transactional=True)
        deliveries: list = []
        token = faust_fixes._batch_deliveries.set(deliveries)
        _current_event.set(weakref.ref(SOURCE))
        try:
            await send_encoded(app, "ns.orders.command-results", b"k", b"v")
        finally:
            faust_fixes._batch_deliveries.reset(token)
        return deliveries

    (delivery,) = asyncio.run(run())
    assert delivery.result() == ("metadata", "ns.orders.command-results")


def test_outside_a_batch_a_failed_delivery_fails_the_send():
    async def run() -> None:
        await send_encoded(App(transactional=False, fail=OSError("lost")), "t", b"k", b"v")

    with pytest.raises(OSError, match="lost"):
        asyncio.run(run())


def test_a_send_into_a_transaction_nobody_began_fails_as_in_faust():
    async def run() -> None:
        app = App(transactional=True)
        app.producer._transaction_producers.clear()
        _current_event.set(weakref.ref(SOURCE))
        await send_encoded(app, "ns.orders.command-results", b"k", b"v")

    with pytest.raises(ProducerSendError, match="orderflow-x-0-1"):
        asyncio.run(run())


def test_what_a_send_needs_of_the_app_is_read_once_per_app():
    app = App(transactional=True)
    assert sending.route(app) is sending.route(app)
    assert sending.route(App(transactional=False)) is not sending.route(app)
