"""The order aggregate agent: a thin loop around ``handling.handle``."""

from __future__ import annotations

import logging
import time

import faust

from processors.orders.domain import Order
from processors.orders.handling import COMMANDS, handle
from streams.codec import AvroCodec
from streams.deadletter import DeadLetters
from streams.faust_fixes import handle_each
from streams.messages import Message

log = logging.getLogger(__name__)


def build_order_agent(
    app: faust.App,
    *,
    commands: faust.TopicT,
    events: faust.TopicT,
    results: faust.TopicT,
    snapshots: faust.TopicT,
    order_by_id: faust.Table,
    outcome_by_command: faust.Table,
    codec: AvroCodec,
    dead_letters: DeadLetters,
    snapshot_every: int,
):
    """Register ``apply_order_commands`` on ``app`` and return it."""

    async def send(topic: faust.TopicT, message: Message) -> None:
        await topic.send(key=message["order_id"].encode(), value=codec.encode(message))

    async def apply_one(event: faust.EventT) -> None:
        command = await dead_letters.decode(event, codec)
        if command is None:
            return
        if command.name not in COMMANDS:
            await dead_letters.park(event, f"{command.name} is not an order command")
            return
        first = outcome_by_command.get(command["command_id"])
        if first is not None:
            # A repeated command id gets its first outcome again and changes nothing.
            await send(results, Message("CommandResult", first))
            return
        stored = order_by_id.get(command["order_id"])
        try:
            state = Order.from_dict(stored) if stored else None
            decision = handle(state, command, int(time.time() * 1000), snapshot_every)
        except (KeyError, TypeError, ValueError) as exc:
            # A command the schema accepted but the domain cannot read: park it, keep going.
            await dead_letters.park(event, f"cannot apply {command.name}: {exc!r}")
            return
        for new_event in decision.events:
            await send(events, new_event)
        if decision.events:
            order_by_id[command["order_id"]] = decision.state.to_dict()
        if decision.snapshot is not None:
            await send(snapshots, decision.snapshot)
        outcome_by_command[command["command_id"]] = decision.result.body
        await send(results, decision.result)

    @app.agent(commands, name="apply_order_commands")
    async def apply_order_commands(stream):
        await handle_each(stream, apply_one)

    return apply_order_commands
