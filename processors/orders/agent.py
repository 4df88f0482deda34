"""The order aggregate agent: a thin loop around ``handling.handle``, a batch at a time."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence

import faust

from processors.orders.domain import Order
from processors.orders.handling import COMMANDS, Decision, handle, unwritable
from streams.adapters.codec import AvroCodec, EncodeError
from streams.config.clock import now_ms
from streams.messages import Message, Record
from streams.runtime import metrics
from streams.runtime.deadletter import ENCODE, NOT_APPLICABLE, DeadLetters
from streams.runtime.faust_fixes import DEFAULT_BATCHING, Batching, handle_in_batches, make_current
from streams.runtime.sending import send_encoded

log = logging.getLogger(__name__)


class Tally:
    """A batch's commands by (result, reason) and events by type, counted once per
    batch into the metrics (``streams.runtime.metrics.count``)."""

    def __init__(self) -> None:
        # Label values of ``metrics.count``'s tally: (result, reason) and (event type,).
        self.commands: Counter[tuple[str, ...]] = Counter()
        self.events: Counter[tuple[str, ...]] = Counter()

    def decided(self, decision: Decision) -> None:
        result = decision.result.body
        self.commands[(result["status"], result["reason_code"] or "")] += 1
        for event in decision.events:
            self.events[(event.name,)] += 1

    def publish(self) -> None:
        metrics.count(metrics.COMMANDS, self.commands)
        metrics.count(metrics.EVENTS_WRITTEN, self.events)


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
    batching: Batching = DEFAULT_BATCHING,
    clock: Callable[[], int] = now_ms,
):
    """Register ``apply_order_commands`` on ``app`` and return it."""

    async def send(topic: faust.TopicT, message: Message) -> None:
        await send_encoded(app, topic.get_topic_name(), message["order_id"].encode(),
                           codec.encode(message))  # fmt: skip

    Changed = dict[str, tuple[Order, faust.EventT]]  # order id -> new state, its last command

    async def forwarded_home(event: faust.EventT) -> bool:
        """Send a command written to another partition than its key's to its key's, as it
        is, and say so: an order's state lives in one partition, the one its key hashes to
        with Kafka's default partitioner (murmur2). Producers with another partitioner
        (librdkafka's default is crc32) would otherwise split an order between partitions,
        and so between workers. The copy goes in this message's transaction."""
        message = event.message
        if message.key is None:
            return False  # no home: decided where it is (the domain needs no key)
        home = app.consumer.key_partition(message.topic, message.key, None)
        if home is None or home == message.partition:
            return False
        await commands.send(
            key=message.key, value=message.value, partition=home, headers=message.headers
        )
        return True

    def encoded(decision: Decision) -> list[tuple[faust.TopicT, bytes, bytes]]:
        """Every output of ``decision`` as (topic, key, value), encoded before any is
        sent: an outcome that cannot be encoded is never half sent."""
        outputs = [(events, e) for e in decision.events]
        if decision.snapshot is not None:
            outputs.append((snapshots, decision.snapshot))
        outputs.append((results, decision.result))
        return [(t, m["order_id"].encode(), codec.encode(m)) for t, m in outputs]

    async def apply_one(event: faust.EventT, changed: Changed, tally: Tally) -> None:
        if await forwarded_home(event):
            tally.commands[("forwarded", "")] += 1
            return
        command = await dead_letters.decode(event, codec)
        if command is None:
            return
        if command.name not in COMMANDS:
            await dead_letters.park(
                event, f"{command.name} is not an order command", kind=NOT_APPLICABLE
            )
            return
        first = outcome_by_command.get(command["command_id"])
        if first is not None:
            # A repeated command id gets its first outcome again and changes nothing.
            await send(results, Message(Record.COMMAND_RESULT, first))
            tally.commands[("duplicate", "")] += 1
            return
        order_id = command["order_id"]
        now = clock()
        state: Order | None
        if order_id in changed:
            state = changed[order_id][0]
        else:
            stored = order_by_id.get(order_id)
            state = Order.from_dict(stored) if stored else None
        # A command the domain refuses is a rejection (``CommandRejected`` -> a result with
        # its reason); anything else ``handle`` raises is a bug, and stops the worker
        # (``handle_in_batches``'s error policy) instead of parking a good command.
        decision = handle(state, command, now, snapshot_every)
        try:
            outputs = encoded(decision)
        except EncodeError as exc:
            log.warning("rejecting %s for %s: %s", command.name, order_id, exc)
            decision = unwritable(state, command, now, str(exc))
            try:
                outputs = encoded(decision)
            except EncodeError as again:  # not even the rejection: the command is parked
                reason = f"cannot encode the outcome of {command.name}: {exc}; nor its rejection"
                await dead_letters.park(event, f"{reason}: {again}", kind=ENCODE)
                return
        for topic, key, value in outputs:
            await send_encoded(app, topic.get_topic_name(), key, value)
        tally.decided(decision)
        if decision.events:
            assert decision.state is not None  # events fold into a state
            changed[order_id] = (decision.state, event)
        if decision.remember:
            outcome_by_command[command["command_id"]] = decision.result.body

    async def apply_batch(batch: Sequence[faust.EventT]) -> None:
        # An order's state is written once per batch, however many of its commands the
        # batch holds; the fence keeps the batch's events and that write in one transaction.
        changed: Changed = {}
        tally = Tally()
        for event in batch:
            make_current(event)
            await apply_one(event, changed, tally)
        tally.publish()
        for order_id, (state, last_event) in changed.items():
            make_current(last_event)
            order_by_id[order_id] = state.to_dict()

    @app.agent(commands, name="apply_order_commands")
    async def apply_order_commands(stream):
        await handle_in_batches(stream, apply_batch, batching)

    return apply_order_commands
