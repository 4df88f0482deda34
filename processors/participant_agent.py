"""The loop every saga participant runs: decode, maybe misbehave on purpose, apply, reply.

The participant's ``apply`` (its ``agent`` module) updates its tables and returns the
reply; this loop sends it. Table writes go to the changelog in the consuming partition's
transaction; a reply sent outside that transaction (another partition group, or a topic
this worker does not consume) is at-least-once instead, which is safe because a
participant's answer is a pure function of its committed state and the command: a
command re-processed after a crash gets an identical reply (same event id), and the
saga ignores a reply it has already taken.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import faust

from processors.idempotency import handle
from streams.adapters.codec import AvroCodec
from streams.config.clock import now_ms
from streams.messages import Message
from streams.runtime.deadletter import NOT_APPLICABLE, DeadLetters
from streams.runtime.faust_fixes import DEFAULT_BATCHING, Batching, handle_each

log = logging.getLogger(__name__)

Apply = Callable[[Message, int], Message]
SendReply = Callable[..., Awaitable[None]]  # (reply, its encoded value)


def ledger_by_order(table: faust.Table, decide, evolve) -> Apply:
    """The ``apply`` of a participant that keeps one ledger per order in ``table``: the
    idempotent handling of ``processors.idempotency``, and a write only on a change."""

    def apply(command: Message, now_ms: int) -> Message:
        order_id = command["order_id"]
        before = table.get(order_id)
        after, reply = handle(before, command, now_ms, decide, evolve)
        if after is not before:
            table[order_id] = after
        return reply

    return apply


def build_participant_agent(
    app: faust.App,
    *,
    name: str,
    commands: faust.TopicT,
    accepts: frozenset[str],
    apply: Apply,
    send_reply: SendReply,
    codec: AvroCodec,
    dead_letters: DeadLetters,
    delay_ms: int = 0,
    silent: tuple[str, ...] = (),
    batching: Batching = DEFAULT_BATCHING,
    clock: Callable[[], int] = now_ms,
):
    """Register agent ``name`` on ``commands`` and return it."""

    async def handle(event: faust.EventT) -> None:
        command = await dead_letters.decode(event, codec)
        if command is None:
            return
        if command.name not in accepts:
            await dead_letters.park(
                event, f"{command.name} is not a {name} command", kind=NOT_APPLICABLE
            )
            return
        if command.name in silent:
            # Failure injection: behave like a participant that is down.
            log.warning("%s: silently dropping %s for %s", name, command.name, command["order_id"])
            return
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)
        # A command the participant cannot honour gets a failure reply from its domain;
        # anything ``apply`` raises is a bug, and stops the worker (``handle_each``).
        reply = apply(command, clock())
        what = f"the reply {reply.name} to {command.name}"
        encoded = await dead_letters.encode_or_park(event, codec, [reply], what)
        if encoded is None:
            # Parked, not lost. The ledger already holds the step (``apply`` writes it);
            # the saga's deadline retries the command, gets the same reply (idempotency
            # key) parked again, and compensates after its last attempt.
            return
        await send_reply(reply, encoded[0])

    @app.agent(commands, name=name)
    async def participant(stream):
        await handle_each(stream, handle, batching)

    return participant
