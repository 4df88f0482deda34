"""Fixes for faust-streaming (0.15.x) bugs that lose or duplicate records or state.

1. Records skipped after a restart or a rebalance. ``Recovery.on_recovery_completed``
(and ``_resume_streams`` when an app has no tables) resumes the stream partitions and seeks
them to their committed offsets while the consumer's flow is still running from the
changelog recovery; only afterwards does it call ``app.flow_control.resume()``, which
*clears* every stream queue (Faust's channels are ``clear_on_resume=True``).

Records fetched in that window are handed to the agents' queues and their offsets are
marked read. Those the agent has not taken yet are then cleared from the queue, and when
the consumer re-fetches them from the committed offset it drops them as already read.
The committed offset stays before them, so they are processed only after the next
restart: seen here as a restarted aggregate skipping 2–8 commands (reported upstream as
faust-streaming/faust#596, open at 0.15.3).

The fix stops the consumer's flow before those methods run, so no stream record is
delivered until the queues have been cleared and the flow resumed by Faust itself. With
the flow stopped, ``Consumer.getmany`` re-seeks to the committed offsets instead of
yielding records. ``tests/e2e/test_aggregate_restart.py`` is the regression test.

2. Empty tables after a clean restart under ``exactly_once``. Recovery asks the consumer
for the changelog partitions' highwaters; in a transaction Faust answers with aiokafka's
``last_stable_offset(tp)``, a value cached from fetch responses, which is unknown (read
as 0) for a partition nothing has been fetched from yet: the first assignment of a fresh
process. Recovery then sees every changelog as empty and starts with empty tables (seen
after every clean stop and start here; restarts after a kill -9 were spared, probably
because the consumer fetched during the rebalance that waits out the dead member; compare
robinhood/faust#658). The fix asks the broker instead:
``end_offsets`` of a ``read_committed`` consumer is the last stable offset. Regression
test: ``tests/integration/test_clean_restart.py``.

3. Half a message in a transaction under ``exactly_once``. Faust commits a transaction
from a timer, at any ``await`` of an agent: an agent that sends an event and then writes
its table can have the event committed in one transaction and the table's changelog
(sent through Faust's producer buffer, which the transaction commit does not flush) in
the next. A crash in between keeps the event, loses the table write and redelivers the
message (its offset was not committed yet): the aggregate decided the command again and
wrote its event twice (seen twice in about 20 kill -9 runs). ``COMMIT_FENCE`` makes a
batch's outputs indivisible: every agent that decides runs ``handle_in_batches`` (or
``handle_each`` on top of it), which handles a whole batch inside the fence and
acknowledges it there, and a commit first closes the fence (no new batch starts), waits
for the batches in hand, flushes the producer buffer, and only then picks the acknowledged
offsets and commits, so a batch's events, table writes and offsets share a transaction.
Batches hold several partitions: ``make_current`` points Faust's table writes at each
message's own partition. ``tests/e2e/test_aggregate_batch_crash.py`` kills a worker in the
middle of a batch.

4. Sends outside the transaction under ``exactly_once``. Faust picks a send's transaction
by the *destination* partition, found in the consumer's metadata. For a topic the process
does not know there is none, and the send goes through the plain producer: committed at
once, even if the transaction that consumed its source aborts. That made command results
(and, in a process running only the aggregate, its events) survive a crash whose batch was
then decided again: two outcomes for one command, seen in the batch crash test. For a
topic it knows, the destination is the key's partition, which is the source's only when
the message was itself written by key with the same partitioner: a command written by
librdkafka's default partitioner (crc32, not murmur2) had its event sent in another
partition's transaction, committed only when that partition next committed, apart from
the command's offset (seen in the Confluent interop test). The fix sends every output of
the message being handled in its *source* partition's transaction, whatever the topic, so
every output of a message commits with its offset; outside stream iteration (a timer)
sends go as Faust sends them. ``route_of_send`` picks it (and ``streams.runtime.sending`` uses
it too).

5. A survivor crashes when it takes over a dead worker's partitions under ``exactly_once``
(faust-streaming/faust#323). On a rebalance Faust stops the transactional producers of the
revoked partitions, but leaves out every revoked partition that became a *standby* of
this worker (a table's replica), so the producer for that transactional id stays in the
process, open. The worker that now owns the partition starts its own producer with the
same id, which fences the old one. When that worker dies and the partition comes back,
Faust "begins" a transaction on the stale, fenced producer (logged as ``Invalid state
transition IN_TRANSACTION -> IN_TRANSACTION``), the first send fails with
``ProducerFenced`` and the app crashes: seen as 331 of 540 commands without an outcome
until a manual restart. The fix stops every producer whose partition this worker does
not own actively after the rebalance, so a partition that comes back gets a fresh
producer, whose ``init_transactions`` aborts what the dead worker left open.
``tests/faults/test_takeover.py`` kills one of two workers under load.

6. A rebalance that never ends. Before it gives partitions up, Faust waits until every
message handed to a stream is acknowledged *or garbage* (``Consumer.wait_empty`` watches a
weak set). A message of a topic that two agents of the process read (``orders.events``:
the saga and the projections in ``--role all``) is counted twice; the rebalance clears
the agents' queues, so the copy still queued is dropped unacknowledged, while the other
agent's last batch and Faust's suspended fetch loop still hold the message: it is neither
acknowledged nor garbage, and the worker waits for ever, for a stop too (seen in about one
of three takeovers with two ``--role all`` workers; upstream: robinhood/faust#402,
faust-streaming/faust#133). The wait now ends after ``REVOKE_WAIT_SECONDS``; then the
fence is *held* closed: the revoking commit waits for the batches in hand and ends the
transactions, and no batch starts until the new assignment has begun new ones. A batch
taken before the rebalance is not handled after it (``handle_in_batches`` drops the
events of an older consumer generation, unacknowledged): their offsets were not
committed, so the partition's owner, this process or another, reads them again.

7. The first messages of a partition lost. Faust rewinds the stream partitions to their
committed offsets whenever it has dropped fetched records (``perform_seek``: after a
rebalance, after recovery, and whenever the fetch loop got records while the flow was
stopped, which it discards). aiokafka's ``seek_to_committed`` seeks only to a committed
offset above 0: a partition with no committed offset yet (a new topic's, the first
minutes of a deployment) stays where the fetcher was, so the discarded records are never
delivered again; the next messages are handled and their offsets committed past the lost
ones (Faust's commit checks the head of the acknowledged offsets against a committed
offset, and there is none). Seen in the takeover test as the command at offset 0 of a
partition without an outcome, about once in 20 runs. The fix rewinds such a stream
partition to its beginning (the consumer's ``auto_offset_reset`` is earliest); table
changelog partitions, whose positions recovery sets itself, are left alone.
``tests/integration/test_faust_fixes_seek.py`` shows aiokafka's behaviour and the fix on a
real broker.

Every fix replaces a private method whose code it knows, so ``install`` refuses to patch
other versions of faust-streaming and aiokafka than those in ``TESTED`` (the ones
``pyproject.toml`` pins and the fault tests ran on), with a message saying what to do,
unless ``ORDERFLOW_ALLOW_UNTESTED_FAUST=1`` (then it warns once).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from typing import Any, NamedTuple, cast

import aiokafka
import faust
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import IllegalOperation
from faust.streams import _current_event, current_event
from faust.tables.manager import TableManager
from faust.tables.recovery import Recovery
from faust.transport.consumer import Consumer, TransactionManager
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread, Producer
from faust.types import AppT

_PATCHED = "_orderflow_patched"
log = logging.getLogger(__name__)

# The versions the fixes were written for and the fault tests passed on.
TESTED = {"faust-streaming": ("0.15.3",), "aiokafka": ("0.14.0",)}
ALLOW_UNTESTED = "ORDERFLOW_ALLOW_UNTESTED_FAUST"


class UntestedFaust(RuntimeError):
    """Faust or aiokafka is not a version these fixes were tested on."""


def installed_versions() -> dict[str, str]:
    return {"faust-streaming": faust.__version__, "aiokafka": aiokafka.__version__}


def check_versions(found: dict[str, str], env: Mapping[str, str]) -> None:
    """Refuse (``UntestedFaust``) versions not in ``TESTED``, unless ``env`` allows them."""
    untested = {name: v for name, v in found.items() if v not in TESTED[name]}
    if not untested:
        return
    have = ", ".join(f"{name} {v}" for name, v in untested.items())
    tested = ", ".join(f"{name} {' or '.join(vs)}" for name, vs in TESTED.items())
    if env.get(ALLOW_UNTESTED) == "1":
        log.warning("running on untested %s (%s=1); the fixes were tested on %s",
                    have, ALLOW_UNTESTED, tested)  # fmt: skip
        return
    raise UntestedFaust(
        f"orderflow patches private parts of Faust and aiokafka (streams/runtime/faust_fixes.py) "
        f"and was tested on {tested}, not {have}: install the pinned versions "
        f"(pip install -e .), or set {ALLOW_UNTESTED}=1 to run anyway once the fault "
        f"tests (make test) pass on them"
    )


def patch_once(
    cls: type, name: str, make: Callable[[Callable[..., Any]], Callable[..., Any]]
) -> None:
    """Replace ``cls.name`` by ``make(original)``, once per process."""
    original = getattr(cls, name, None)
    if original is None:
        raise UntestedFaust(
            f"{cls.__module__}.{cls.__qualname__}.{name}, which streams/runtime/faust_fixes.py "
            f"patches, is gone: this Faust or aiokafka is not one the fixes were written for"
        )
    if not getattr(original, _PATCHED, False):
        patched = functools.wraps(original)(make(original))
        setattr(patched, _PATCHED, True)
        setattr(cls, name, patched)


def _stop_flow_first(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def wrapper(self: Recovery, *args: Any, **kwargs: Any) -> Any:
        # The wrapped method resumes the flow itself once the stream queues are cleared.
        self.app.consumer.stop_flow()
        return await method(self, *args, **kwargs)

    return wrapper


def _highwaters_from_the_broker(_original: Callable[..., Any]) -> Callable[..., Any]:
    async def highwaters(self: AIOKafkaConsumerThread, partitions) -> Any:
        # The consumer's isolation level goes with the ListOffsets request: under
        # exactly_once (read_committed) the broker answers with the last stable offset.
        return await self._ensure_consumer().end_offsets(partitions)

    return highwaters


class CommitFence:
    """Many messages may be in hand at once; a commit waits for all of them and holds
    new ones back until it is done. ``async with fence:`` holds one message."""

    def __init__(self) -> None:
        self._in_hand = 0
        self._idle = asyncio.Event()  # no message in hand
        self._idle.set()
        self._open = asyncio.Event()  # no commit waiting or running
        self._open.set()
        self._commit_lock = asyncio.Lock()
        self._held = False  # closed across a rebalance, whatever the commits do

    def hold(self) -> None:
        """Keep new batches out until ``release`` (a rebalance is under way)."""
        self._held = True
        self._open.clear()

    def release(self) -> None:
        self._held = False
        self._open.set()

    @property
    def held(self) -> bool:
        return self._held

    async def __aenter__(self) -> None:
        await self._open.wait()
        self._in_hand += 1
        self._idle.clear()

    async def __aexit__(self, *exc: object) -> None:
        self._in_hand -= 1
        if self._in_hand == 0:
            self._idle.set()

    @contextlib.asynccontextmanager
    async def committing(self) -> AsyncIterator[None]:
        async with self._commit_lock:
            self._open.clear()
            try:
                await self._idle.wait()
                yield
            finally:
                if not self._held:
                    self._open.set()


# The process's one fence, a module global on purpose: the patched Faust methods that take it
# (the consumer's commit, the revocation) reach no orderflow object, and a process runs
# one app (``streams.app``). Tests give each case a fence of its own (monkeypatch).
COMMIT_FENCE = CommitFence()


class Batching(NamedTuple):
    """How many messages an agent takes at once, and how long it waits to fill a batch."""

    size: int = 500
    seconds: float = 0.02


DEFAULT_BATCHING = Batching()


def make_current(event: faust.EventT) -> None:
    """Make ``event`` the stream's current event for the code that follows.

    Faust finds the partition of a table write (its changelog partition and its store
    partition) from the current event. Inside a batch that holds several partitions, each
    message's table writes must see that message as current: without it a write either
    fails (no current event in the agent's task) or lands in the partition of the message
    made current before it."""
    _current_event.set(weakref.ref(event))


# Deliveries (broker acks) of the sends made outside the transaction while a batch is
# handled: awaited together before the batch is acknowledged, not one round trip each.
_batch_deliveries: ContextVar[list[Awaitable[Any]] | None] = ContextVar(
    "batch_deliveries", default=None
)


def await_before_ack(delivery: Awaitable[Any]) -> bool:
    """Have the batch being handled await ``delivery`` before it is acknowledged; False
    outside a batch (the caller then awaits it itself)."""
    pending = _batch_deliveries.get()
    if pending is None:
        return False
    pending.append(delivery)
    return True


async def handle_in_batches(
    stream: faust.Stream,
    handle_batch: Callable[[Sequence[faust.EventT]], Awaitable[None]],
    batching: Batching,
) -> None:
    """``handle_batch`` every batch of ``stream`` inside ``COMMIT_FENCE``, then acknowledge
    it there: a batch's sends, table writes and offsets share one transaction, and its
    sends outside the transaction are delivered before its offsets can commit.

    The error policy of every deciding agent: bad input never reaches here as an
    exception (the agents park what does not decode, what they do not handle and what
    cannot be encoded on the dead-letter topic, and the domain answers a command it
    refuses with a rejection). Whatever ``handle_batch`` raises is therefore a bug, and a
    bug stops the worker (``crash_on_bug``) rather than dead-letter a message the code
    should have handled or skip it: nothing of the batch is acknowledged, its transaction
    never commits, and the supervisor's restart reads it again."""
    app = stream.app
    async for taken in stream.noack_take(batching.size, batching.seconds):
        async with COMMIT_FENCE:
            generation = app.consumer_generation_id
            batch = [e for e in taken if e.message.generation_id == generation]
            if len(batch) < len(taken):
                log.info(
                    "%d messages taken before the rebalance are left to be read again",
                    len(taken) - len(batch),
                )
            deliveries: list[Awaitable[Any]] = []
            token = _batch_deliveries.set(deliveries)
            try:
                await handle_batch(batch)
            except Exception as exc:
                await crash_on_bug(app, batch, exc)
                return
            finally:
                _batch_deliveries.reset(token)
            await asyncio.gather(*deliveries)
            for event in batch:
                await stream.ack(event)
                message = event.message
                _handled[message.tp] = message.offset


async def crash_on_bug(app: Any, batch: Sequence[faust.EventT], exc: Exception) -> None:
    """Say once what failed and where, and stop the worker: its supervisor restarts it,
    and the batch, neither acknowledged nor committed, is read again. The same bug on the
    same message crashes again, at the same offset: the log names it."""
    where = ", ".join(
        sorted({f"{e.message.topic}[{e.message.partition}]@{e.message.offset}" for e in batch})
    )
    log.critical(
        "a bug while handling a batch of %d messages (%s): %r. The worker stops; its "
        "supervisor restarts it and the batch is read again (nothing of it was committed "
        "or dead-lettered). A crash again at the same offsets means the bug is "
        "deterministic: fix it and deploy.",
        len(batch),
        where[:500],
        exc,
        exc_info=exc,
    )
    await app.crash(exc)


async def handle_each(
    stream: faust.Stream,
    handle: Callable[[faust.EventT], Awaitable[None]],
    batching: Batching = DEFAULT_BATCHING,
) -> None:
    """``handle`` every event of ``stream`` in turn, taken in batches: the loop of every
    agent whose decisions are made message by message. A batch pays the stream's and the
    producer's per-wakeup costs once (its sends leave in few produce requests) instead of
    once per message. An exception from ``handle`` is a bug: see ``handle_in_batches``."""

    async def one_by_one(batch: Sequence[faust.EventT]) -> None:
        for event in batch:
            make_current(event)
            await handle(event)

    await handle_in_batches(stream, one_by_one, batching)


# The offset of the last message handled, by partition, in this process.
_handled: dict[Any, int] = {}


def tables_recovered(app: faust.App) -> bool:
    """Whether this process's tables are restored from their changelogs (until then they
    are partial). Faust's table manager has the state; its interface type does not show it."""
    return cast(TableManager, app.tables).recovery.completed.is_set()


def unread_records(app: faust.App, topics: frozenset[str]) -> int:
    """Records of ``topics`` in this process's partitions that its agents have not handled
    yet (fetched and queued ones included), from the consumer's cached last stable offsets:
    no broker round trip. Partitions not handled from yet count as nothing unread."""
    consumer = app.consumer
    unread = 0
    for tp in consumer.assignment():
        handled = _handled.get(tp)
        if tp.topic in topics and handled is not None:
            end = consumer.highwater(tp)
            unread += max(0, end - handled - 1) if end is not None else 0
    return unread


# Set in the task that makes a revocation's (or a stop's) final commit.
_final_commit: ContextVar[bool] = ContextVar("final_commit", default=False)


def _fenced_commit(method: Callable[..., Awaitable[bool]]) -> Callable[..., Awaitable[bool]]:
    async def wrapper(self: Consumer, *args: Any, **kwargs: Any) -> bool:
        async with COMMIT_FENCE.committing():
            if COMMIT_FENCE.held and not _final_commit.get():
                # After the final commit of a revocation or a stop, before the partitions
                # are assigned again: the transactions are ended and no batch runs, so the
                # commit timer has nothing to commit (and would fail outside a transaction).
                return False
            if self.in_transaction:
                # Buffered sends (table changelogs) into this transaction, not the next.
                await self.app.producer.flush()
            try:
                return await method(self, *args, **kwargs)
            except IllegalOperation as exc:
                if not self.should_stop:
                    raise
                # Stopping, the transactions were already ended (partitions revoked): the
                # error would abort the consumer's stop and leave its thread running, so
                # the process never exits. Nothing is half-committed; what was not
                # committed is delivered again.
                log.info("final commit skipped while stopping: %s", exc)
                return False

    return wrapper


def route_of_send(
    app: AppT, topic: str, key: bytes | None, partition: int | None = None
) -> tuple[int | None, str | None]:
    """(partition, transactional id) of a send under ``exactly_once``: in a stream, the
    transaction of the partition the message in hand came from (the one its offset commits
    in); outside one (a timer), the destination partition's, as Faust does, or none (the
    plain producer) for a topic the process does not know. The partition, unless given,
    is the key's for a topic the process knows, else the producer's own choice (None)."""
    if partition is None:
        partition = app.consumer.key_partition(topic, key, None)
    event = current_event()
    if event is not None:
        source_topic, source_partition = event.message.topic, event.message.partition
    elif partition is not None:
        source_topic, source_partition = topic, partition
    else:
        return None, None
    group = app.assignor.group_for_topic(source_topic)
    return partition, f"{app.conf.id}-{group}-{source_partition}"


def _outputs_join_the_source_transaction(
    _original: Callable[..., Awaitable[Any]],
) -> Callable[..., Awaitable[Any]]:
    async def send(
        self: TransactionManager,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        timestamp: float | None,
        headers: Any,
        *,
        transactional_id: str | None = None,
    ) -> Any:
        partition, transactional_id = route_of_send(self.app, topic, key, partition)
        return await self.producer.send(
            topic, key, value, partition, timestamp, headers, transactional_id=transactional_id
        )

    return send


def _stop_producers_of_partitions_not_owned(
    _original: Callable[..., Awaitable[Any]],
) -> Callable[..., Awaitable[Any]]:
    async def on_rebalance(
        self: TransactionManager, assigned: set, revoked: set, newly_assigned: set
    ) -> None:
        owned = self._tps_to_transactional_ids(assigned)  # active partitions only
        # transactional id -> producer, of Faust's aiokafka driver
        running = cast(Producer, self.producer)._transaction_producers
        stale = sorted(set(running) - owned)
        if stale:
            log.info("stopping %d transactional producers of partitions now owned elsewhere: %s",
                     len(stale), ", ".join(stale))  # fmt: skip
            await self._stop_transactions(stale)
        # A kept producer may have no transaction: revoking ends them (Faust commits with
        # ``start_new_transaction=False``). Begin one where there is none.
        idle = sorted(tid for tid in owned if not _in_transaction(running.get(tid)))
        if idle:
            await self._start_transactions(idle)

    return on_rebalance


# How long a revocation waits for the messages in the agents' hands to be acknowledged.
REVOKE_WAIT_SECONDS = 5.0


def _bounded_wait_then_hold_the_fence(
    _original: Callable[..., Awaitable[Any]],
) -> Callable[..., Awaitable[Any]]:
    async def wait_empty(self: Consumer) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REVOKE_WAIT_SECONDS
        while not self.should_stop and self._unacked_messages and loop.time() < deadline:
            await self.commit()
            if not self._unacked_messages:
                break
            await self._wait_for_ack(timeout=1)
            self._clean_unacked_messages()
        if self._unacked_messages:
            log.info(
                "%d messages in hand not acknowledged after %.0f s: they are read again",
                len(self._unacked_messages), REVOKE_WAIT_SECONDS,
            )  # fmt: skip
        COMMIT_FENCE.hold()  # released once the partitions are assigned again
        token = _final_commit.set(True)
        try:
            await self.commit_and_end_transactions()
        finally:
            _final_commit.reset(token)

    return wait_empty


def _release_the_fence_when_assigned(
    method: Callable[..., Awaitable[Any]],
) -> Callable[..., Awaitable[Any]]:
    async def wrapper(self: faust.App, *args: Any, **kwargs: Any) -> Any:
        try:
            return await method(self, *args, **kwargs)
        finally:
            COMMIT_FENCE.release()

    return wrapper


async def seek_to_committed_or_beginning(
    consumer: AIOKafkaConsumer, leave: Callable[[TopicPartition], bool]
) -> dict[TopicPartition, int | None]:
    """Seek every assigned partition to its committed offset, and one with none (or 0)
    to its beginning, except those ``leave`` names; returns the committed offsets."""
    committed = await consumer.seek_to_committed()
    fresh = [tp for tp, offset in committed.items() if not offset and not leave(tp)]
    if fresh:
        await consumer.seek_to_beginning(*fresh)
    return committed


def _fresh_partitions_from_the_beginning(
    _original: Callable[..., Awaitable[Any]],
) -> Callable[..., Awaitable[Any]]:
    async def seek_to_committed(self: AIOKafkaConsumerThread) -> Any:
        changelogs = self.app.tables.changelog_topics
        return await self.call_thread(
            seek_to_committed_or_beginning,
            self._ensure_consumer(),
            lambda tp: tp.topic in changelogs,
        )

    return seek_to_committed


def _in_transaction(producer: Any) -> bool:
    return producer is not None and producer._txn_manager.is_in_transaction()


def install(env: Mapping[str, str] | None = None) -> None:
    """Patch ``Recovery`` and the consumer once per process (idempotent), on the versions
    in ``TESTED`` only (see ``check_versions``)."""
    check_versions(installed_versions(), os.environ if env is None else env)
    patch_once(Recovery, "on_recovery_completed", _stop_flow_first)
    patch_once(Recovery, "_resume_streams", _stop_flow_first)
    patch_once(AIOKafkaConsumerThread, "_highwaters", _highwaters_from_the_broker)
    # The whole commit, from choosing the acknowledged offsets on: a batch acknowledged
    # while the commit waited at the fence commits with its outputs, not one later.
    patch_once(Consumer, "force_commit", _fenced_commit)
    patch_once(TransactionManager, "send", _outputs_join_the_source_transaction)
    patch_once(TransactionManager, "on_rebalance", _stop_producers_of_partitions_not_owned)
    patch_once(Consumer, "wait_empty", _bounded_wait_then_hold_the_fence)
    patch_once(faust.App, "_on_partitions_assigned", _release_the_fence_when_assigned)
    patch_once(AIOKafkaConsumerThread, "seek_to_committed", _fresh_partitions_from_the_beginning)
