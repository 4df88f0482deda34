"""Sends of already-encoded records from the agents' hot paths, without Faust's
per-message machinery.

``topic.send`` builds a ``PendingMessage`` and a ``FutureMessage`` per record, asks the
serializer registry for the (raw) key and value, looks the producer up through
``maybe_start_producer``, calls the sensors before and after, and goes through
``TransactionManager.send`` (``faust_fixes`` fix 4) and Faust's ``Producer.send`` (which
also fires the ``on_produce_message`` signal) before it reaches aiokafka; and it yields to
the event loop three times per record (``app.maybe_start_producer`` is a mode
``@stampede``, which awaits ``asyncio.sleep(0)``), so aiokafka's sender ships a produce
request after nearly every record. ``send_encoded`` makes the same choice of partition
and transaction and calls the aiokafka producer directly, without yielding (unless
aiokafka's buffer is full): a batch's records leave in a few produce requests. It:

- under ``exactly_once``, in the transaction fix 4 picks: inside stream iteration, the
  transaction of the message in hand (its *source* partition's); the partition the
  consumer's partitioner gives the key for a topic the process knows, else the
  producer's own (the same default partitioner); outside stream iteration (a timer) as
  Faust does: a consumed topic's partition and its transaction, any other the plain
  producer;
- otherwise through the plain producer, partition left to it, as Faust does.

Its delivery (the broker's ack) goes to ``await_before_ack``: the batch being handled
awaits it before it is acknowledged, or, outside a batch, the caller waits here. A failed
delivery therefore fails its batch (unacknowledged, read again), where Faust's
``topic.send`` only logged it. Not done here, as nothing in orderflow uses them: Faust's
send sensors (``app.monitor``'s sent-message counts) and ``app.on_produce_message``;
orderflow's metrics are counted by the agents, per batch.
"""

from __future__ import annotations

import weakref
from typing import Any, cast

import faust
from aiokafka.errors import KafkaError
from faust.exceptions import ProducerSendError
from faust.transport.drivers.aiokafka import Producer

from streams.runtime.faust_fixes import await_before_ack, route_of_send

_ROUTES: weakref.WeakKeyDictionary[faust.App, _Route] = weakref.WeakKeyDictionary()


class _Route:
    """What a send needs of one app, looked up once: Faust's settings are slow to read."""

    def __init__(self, app: faust.App) -> None:
        self.app = app
        self.transactional = app.in_transaction
        # Faust's aiokafka driver: the plain and txn producers
        self.producer = cast(Producer, app.producer)

    def choose(self, topic: str, key: bytes | None) -> tuple[int | None, str | None]:
        """(partition, transactional id) of a send, as ``faust_fixes`` fix 4 picks them;
        (None, None): the plain producer, its own partitioner."""
        if not self.transactional:
            return None, None
        return route_of_send(self.app, topic, key)


def route(app: faust.App) -> _Route:
    found = _ROUTES.get(app)
    if found is None:
        found = _ROUTES[app] = _Route(app)
    return found


async def send_encoded(app: faust.App, topic: str, key: bytes | None, value: bytes) -> None:
    """Send ``value`` under ``key`` to the full topic name ``topic``, in the transaction
    Faust (with fix 4) would use; its delivery is awaited before the batch in hand is
    acknowledged (outside a batch: before this returns)."""
    r = route(app)
    partition, transactional_id = r.choose(topic, key)
    producer = r.producer
    if transactional_id is None:
        delivery = await _send(producer._ensure_producer(), topic, key, value, partition)
    else:
        txn_producer = producer._transaction_producers.get(transactional_id)
        if txn_producer is None:
            raise ProducerSendError(f"No transaction producer found for : {transactional_id}")
        # The lock Faust holds around a transaction's sends, commit and abort.
        async with producer._trn_locks[transactional_id]:
            delivery = await _send(txn_producer, topic, key, value, partition)
    if not await_before_ack(delivery):
        await delivery


async def _send(
    producer: Any, topic: str, key: bytes | None, value: bytes, partition: int | None
) -> Any:
    try:
        return await producer.send(topic, value, key=key, partition=partition)
    except KafkaError as exc:  # as Faust's producer reports it
        raise ProducerSendError(f"Error while sending: {exc!r}") from exc
