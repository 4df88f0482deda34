"""The orchestrator's agents: ``orchestrate_fulfilment`` and the deadline timer.

``orchestrate_fulfilment`` reads everything that moves a saga, all keyed by order id and
co-partitioned with ``saga_by_order``: order events, the participants' replies and the
saga's own deadline ticks. It loads the saga, calls ``decide``, stores the folded state,
and sends the records and the commands they call for.

Deadlines live in the table (its changelog survives a restart). A Faust timer cannot
write a table: a write outside stream iteration has no current partition ("Cannot modify
table key from outside of stream iteration", faust-streaming#497). So the timer only
*reads* the worker's own active partitions and sends a ``SagaDeadlineReached`` tick keyed
by order id to ``saga.ticks``; the agent reads the tick like any other trigger and makes
the decision, and the table write, inside stream iteration. Ticks are at-least-once and
``decide`` ignores a stale one (the step was answered or retried since).

The timer does not scan the table: it reads a ``DeadlineIndex`` (memory only) that the
agent updates with every state it stores and that is rebuilt from the table, in chunks,
after every recovery (start, restart, rebalance). Each run sends at most
``MAX_TICKS_PER_RUN`` ticks, so it never holds the event loop for long.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import faust

from processors.saga.commands import command_for
from processors.saga.deadlines import Deadline, DeadlineIndex
from processors.saga.decide import TRIGGERS, RetryPolicy, decide
from processors.saga.state import COMPENSATED, COMPLETED, NEEDS_ATTENTION, Saga, evolve, replace
from streams.adapters.codec import AvroCodec
from streams.config.clock import now_ms
from streams.messages import Message, Record
from streams.runtime import metrics
from streams.runtime.deadletter import DeadLetters
from streams.runtime.faust_fixes import DEFAULT_BATCHING, Batching, handle_each, tables_recovered

log = logging.getLogger(__name__)

ENDS = frozenset({COMPLETED, COMPENSATED, NEEDS_ATTENTION})  # the outcomes counted

Send = Callable[..., Awaitable[None]]  # (message, its encoded value or None)

# Bounds on one timer run: ticks sent, and table entries read per event-loop turn while
# the index is rebuilt.
MAX_TICKS_PER_RUN = 500
REBUILD_CHUNK = 2_000
# Deadlines wait while more input than this is unread, but never longer than this.
HOLD_WHILE_UNREAD = 1_000
HOLD_AT_MOST_MS = 120_000


def build_saga_agent(
    app: faust.App,
    *,
    triggers: faust.TopicT,
    saga_by_order: faust.Table,
    send: Send,
    codec: AvroCodec,
    dead_letters: DeadLetters,
    policy: RetryPolicy,
    deadlines: DeadlineIndex | None = None,
    batching: Batching = DEFAULT_BATCHING,
    clock: Callable[[], int] = now_ms,
):
    """Register ``orchestrate_fulfilment``. ``send`` routes a record or command to its
    topic (``streams.runtime.saga_wiring`` knows which); ``deadlines`` mirrors every stored
    state."""

    async def handle(event: faust.EventT) -> None:
        trigger = await dead_letters.decode(event, codec)
        if trigger is None or trigger.name not in TRIGGERS:
            return  # other events share these topics (OrderShipped, ...)
        order_id = trigger["order_id"]
        stored = saga_by_order.get(order_id)
        saga = Saga.from_dict(stored) if stored else None
        before = saga.status if saga else None
        records = decide(saga, trigger, clock(), policy)
        if not records:
            return
        outgoing: list[Message] = []
        for record in records:
            saga = evolve(saga, record)
            command = command_for(saga, record)
            outgoing += [record] if command is None else [record, command]
        assert saga is not None  # folded from at least one record
        what = f"the outcome of {trigger.name} for order {order_id}"
        encoded = await dead_letters.encode_or_park(event, codec, outgoing, what)
        if encoded is None:
            return  # parked: the saga stays as it was, nothing is sent
        # The partition lets the timer scan only the partitions this worker owns.
        stored = replace(saga, partition=event.message.partition).to_dict()
        saga_by_order[order_id] = stored
        if deadlines is not None:
            deadlines.track(order_id, stored)
        for message, value in zip(outgoing, encoded, strict=True):
            await send(message, value)
        count_outcome(before, saga.status)

    if deadlines is not None:
        # Read when scraped: the sagas of this process's partitions with a step in flight.
        metrics.SAGA_STEPS_IN_FLIGHT.set_function(deadlines.__len__)

    @app.agent(triggers, name="orchestrate_fulfilment")
    async def orchestrate_fulfilment(stream):
        await handle_each(stream, handle, batching)

    return orchestrate_fulfilment


def count_outcome(before: str | None, after: str) -> None:
    """Count a saga that has just reached an end state (once per saga and end state: a
    compensated saga parked for attention and resumed counts both)."""
    if after != before and after in ENDS:
        metrics.SAGA_OUTCOMES.labels(after).inc()


def build_deadline_timer(
    app: faust.App,
    *,
    saga_by_order: faust.Table,
    deadlines: DeadlineIndex,
    send_tick: Send,
    owns_partition: Callable[[int], bool],
    interval: float,
    unread_input: Callable[[], int] = lambda: 0,
    clock: Callable[[], int] = now_ms,
):
    """Register ``find_overdue_steps``: every ``interval`` seconds, a tick per overdue step
    in this worker's partitions (again, at growing intervals, while the step is still
    pending; see ``processors.saga.deadlines``).

    While this process has more than ``HOLD_WHILE_UNREAD`` records of input unread
    (``unread_input``: the saga's triggers and the participants' commands), deadlines wait,
    for at most ``HOLD_AT_MOST_MS``: the answer a step waits for may be among them, and a
    retry would only add a command and its reply to the backlog that delayed it (seen: 5.8
    ticks per order while a worker caught up on 5,000 orders)."""
    holding = False

    @saga_by_order.on_recover
    async def index_is_stale() -> None:
        deadlines.stale = True  # partitions moved or were restored: rebuild from the table

    async def rebuild() -> bool:
        deadlines.stale = False
        deadlines.clear()
        order_ids = list(saga_by_order.keys())
        for start in range(0, len(order_ids), REBUILD_CHUNK):
            if deadlines.stale or app.rebalancing:
                deadlines.stale = True  # partitions are moving: start over next run
                return False
            chunk = order_ids[start : start + REBUILD_CHUNK]
            deadlines.rebuild((order_id, saga_by_order.get(order_id)) for order_id in chunk)
            await asyncio.sleep(0)  # let the agents run between chunks
        log.info("saga deadlines: %d pending of %d sagas", len(deadlines), len(order_ids))
        return True

    @app.timer(interval=interval, name="find_overdue_steps")
    async def find_overdue_steps() -> None:
        if app.rebalancing or not tables_recovered(app):
            return  # the table is still being restored from its changelog
        if deadlines.stale and not await rebuild():
            return
        now = clock()
        nonlocal holding
        unread = unread_input()
        if deadlines_wait(unread, deadlines.next_look_at(), now):
            if not holding:
                log.info("saga deadlines wait: %d records of input unread", unread)
            holding = True
            return
        holding = False
        ticks = []
        owned: dict[int, bool] = {}  # asking the assignor builds a set: once per partition
        for deadline in deadlines.take_overdue(now, MAX_TICKS_PER_RUN):
            partition = deadline.partition
            if partition not in owned:
                owned[partition] = owns_partition(partition)
            if not owned[partition]:
                deadlines.forget(deadline.order_id)  # rebuilt if the partition comes back
                continue
            ticks.append(send_tick(_tick(deadline, now)))
        # Concurrently: the producer batches them instead of one broker ack per tick. A
        # failed send is retried when the index hands the deadline out again.
        for failed in await asyncio.gather(*ticks, return_exceptions=True):
            if isinstance(failed, Exception):
                log.warning("sending a saga deadline tick failed: %r", failed)

    return find_overdue_steps


def deadlines_wait(unread: int, first_due: int | None, now: int) -> bool:
    """Whether due deadlines wait for the unread input (see ``build_deadline_timer``)."""
    if unread <= HOLD_WHILE_UNREAD or first_due is None or first_due > now:
        return False
    return now - first_due < HOLD_AT_MOST_MS


def _tick(deadline: Deadline, now: int) -> Message:
    return Message(
        Record.SAGA_DEADLINE_REACHED,
        {
            "order_id": deadline.order_id,
            "saga_id": deadline.saga_id,
            "step": deadline.step,
            "attempt": deadline.attempt,
            "deadline_at": deadline.deadline_at,
            "issued_at": now,
        },
    )
