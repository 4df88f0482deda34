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
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

import faust

from processors.saga.commands import command_for
from processors.saga.decide import TRIGGERS, RetryPolicy, decide
from processors.saga.state import COMPENSATING, RUNNING, Saga, evolve
from streams.codec import AvroCodec, DecodeError
from streams.deadletter import DeadLetters
from streams.messages import Message

log = logging.getLogger(__name__)

Send = Callable[[Message], Awaitable[None]]


def now_ms() -> int:
    return int(time.time() * 1000)


def build_saga_agent(
    app: faust.App,
    *,
    triggers: faust.TopicT,
    saga_by_order: faust.Table,
    send: Send,
    codec: AvroCodec,
    dead_letters: DeadLetters,
    policy: RetryPolicy,
):
    """Register ``orchestrate_fulfilment``. ``send`` routes a record or command to its
    topic (``streams.saga_app`` knows which)."""

    async def handle(event: faust.EventT) -> None:
        try:
            trigger = codec.decode(event.value)
        except DecodeError as exc:
            await dead_letters.park(event, exc.reason, exc.fingerprint)
            return
        if trigger.name not in TRIGGERS:
            return  # other events share these topics (OrderShipped, ...)
        order_id = trigger["order_id"]
        stored = saga_by_order.get(order_id)
        saga = Saga.from_dict(stored) if stored else None
        records = decide(saga, trigger, now_ms(), policy)
        if not records:
            return
        outgoing: list[Message] = []
        for record in records:
            saga = evolve(saga, record)
            command = command_for(saga, record)
            outgoing += [record] if command is None else [record, command]
        # The partition lets the timer scan only the partitions this worker owns.
        saga_by_order[order_id] = replace(saga, partition=event.message.partition).to_dict()
        for message in outgoing:
            await send(message)

    @app.agent(triggers, name="orchestrate_fulfilment")
    async def orchestrate_fulfilment(stream):
        async for event in stream.events():
            await handle(event)

    return orchestrate_fulfilment


def build_deadline_timer(
    app: faust.App,
    *,
    saga_by_order: faust.Table,
    send_tick: Send,
    owns_partition: Callable[[int], bool],
    interval: float,
):
    """Register ``find_overdue_steps``: every ``interval`` seconds, a tick per overdue step
    in this worker's partitions (at most one per step attempt every few seconds)."""
    recently: dict[tuple[str, str, int], int] = {}

    @app.timer(interval=interval, name="find_overdue_steps")
    async def find_overdue_steps() -> None:
        if app.rebalancing or not app.tables.recovery.completed.is_set():
            return  # the table is still being restored from its changelog
        now = now_ms()
        for stale in [k for k, at in recently.items() if at < now - 5_000]:
            del recently[stale]
        overdue = [
            (order_id, saga)
            for order_id, saga in list(saga_by_order.items())
            if saga.get("status") in (RUNNING, COMPENSATING)
            and saga.get("deadline_at") is not None
            and saga["deadline_at"] <= now
            and owns_partition(saga.get("partition", -1))
        ]
        for order_id, saga in overdue:
            mark = (order_id, saga["step"], saga["attempt"])
            if mark in recently:
                continue
            recently[mark] = now
            tick = {
                "order_id": order_id,
                "saga_id": saga["saga_id"],
                "step": saga["step"],
                "attempt": saga["attempt"],
                "deadline_at": saga["deadline_at"],
                "issued_at": now,
            }
            await send_tick(Message("SagaDeadlineReached", tick))

    return find_overdue_steps
