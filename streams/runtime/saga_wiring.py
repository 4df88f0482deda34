"""Wiring of the fulfilment saga into the Faust app: topics, tables, agents, timer.

Called once from ``streams.app`` (the one wiring place). Which parts a worker runs
follows ``ORDERFLOW_AGENTS`` (``settings.runs``): ``saga`` (the orchestrator, or in
choreography mode the reactions and the observer), ``payment``, ``inventory``,
``shipping``. Tables are declared only for the agents that use them.

How a message leaves, and why:
- to a topic co-partitioned with the sender's source (same key, same partition count),
  through ``streams.runtime.sending.send_encoded`` (Faust's choice of partition and transaction
  without its per-message objects): under exactly-once it joins the source partition's
  transaction (Faust picks the transaction by the destination partition);
- to ``inventory.commands`` (one partition), from the inventory agent (whose source is
  that one partition) and from the timer (outside any stream), through the plain,
  non-transactional producer. Faust would otherwise put the message in the transaction
  of *another* partition group, which commits only when that group next consumes
  something: a message that only becomes visible once it is consumed would wait forever.
  These sends are at-least-once; idempotency keys and ``decide`` absorb duplicates.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, cast

import faust
from faust.types import TP

from processors.inventory.agent import build_inventory_agent
from processors.participant_agent import build_participant_agent, ledger_by_order
from processors.payment import domain as payment
from processors.payment.domain import PaymentRules
from processors.saga.agent import build_deadline_timer, build_saga_agent
from processors.saga.commands import DESTINATION
from processors.saga.deadlines import DeadlineIndex
from processors.saga.decide import RetryPolicy
from processors.shipping import domain as shipping
from streams.adapters.codec import AvroCodec
from streams.config import topics as specs
from streams.config.clock import now_ms
from streams.config.settings import Settings
from streams.messages import Message, Record
from streams.runtime.deadletter import DeadLetters
from streams.runtime.faust_fixes import DEFAULT_BATCHING, Batching, await_before_ack, unread_records
from streams.runtime.sending import send_encoded
from streams.runtime.table_help import TABLE_HELP

# Saga records and notifications: where each goes.
RECORD_TOPIC: dict[str, str] = {
    Record.SAGA_STARTED: specs.SAGA_EVENTS.name,
    Record.SAGA_STEP_RECORDED: specs.SAGA_EVENTS.name,
    Record.CUSTOMER_NOTIFIED: specs.NOTIFICATION_EVENTS.name,
    Record.SAGA_DEADLINE_REACHED: specs.SAGA_TICKS.name,
}
PLAIN = frozenset({specs.INVENTORY_COMMANDS.name})
TRIGGER_TOPICS = (
    specs.ORDER_EVENTS,
    specs.PAYMENT_EVENTS,
    specs.INVENTORY_EVENTS,
    specs.SHIPPING_EVENTS,
    specs.SAGA_TICKS,
)


class SagaWiring:
    """Builds and holds the saga's topics, tables and agents for one app."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        codec: AvroCodec,
        dead_letters: DeadLetters,
        make_topic: Callable[[specs.TopicSpec], faust.TopicT],
        batching: Batching = DEFAULT_BATCHING,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.app, self.settings, self.codec, self.dead_letters = app, settings, codec, dead_letters
        self.batching, self.clock = batching, clock
        self.topics = {s.name: make_topic(s) for s in (*specs.SAGA_TOPICS, specs.ORDER_COMMANDS)}
        self.tables: dict[str, faust.Table] = {}
        self.agents: dict[str, object] = {}

    # Sending ------------------------------------------------------------------------

    def _encoded(self, message: Message, value: bytes | None = None) -> tuple[bytes, bytes]:
        return message["order_id"].encode(), value or self.codec.encode(message)

    async def send_plain(self, name: str, message: Message, value: bytes | None = None) -> None:
        key, value = self._encoded(message, value)
        topic = self.settings.topic(name)
        # Delivered before the caller's offset may commit: at the end of its batch, or now.
        delivery = await self.app.producer.send(topic, key, value, None, None, None)
        if not await_before_ack(delivery):
            await delivery

    async def send(self, message: Message, value: bytes | None = None) -> None:
        """Send a saga record, a notification or a command to where it belongs;
        ``value`` is ``message`` already encoded (agents encode an outcome before they
        store any of it, see ``DeadLetters.encode_or_park``)."""
        name = RECORD_TOPIC.get(message.name) or DESTINATION[message.name]
        if name in PLAIN:
            await self.send_plain(name, message, value)
            return
        key, value = self._encoded(message, value)
        await send_encoded(self.app, self.settings.topic(name), key, value)

    def reply_sender(self, events: specs.TopicSpec, plain: bool = False):
        async def send_reply(message: Message, value: bytes | None = None) -> None:
            if plain:
                await self.send_plain(events.name, message, value)
            else:
                key, value = self._encoded(message, value)
                await send_encoded(self.app, self.settings.topic(events.name), key, value)

        return send_reply

    # Building -------------------------------------------------------------------------

    def table(self, name: str, partitions: int = specs.ORDER_PARTITIONS) -> faust.Table:
        table = self.app.Table(name, partitions=partitions, help=TABLE_HELP.get(name))
        self.tables[name] = cast(faust.Table, table)  # the app's Table class: faust.Table
        return self.tables[name]

    def owns_partition(self, partition: int) -> bool:
        tp = TP(self.settings.topic(specs.SAGA_TICKS.name), partition)
        return tp in self.app.assignor.assigned_actives()

    def build(self) -> SagaWiring:
        s = self.settings.saga
        common: dict[str, Any] = {
            "codec": self.codec,
            "dead_letters": self.dead_letters,
            "batching": self.batching,
            "clock": self.clock,
        }
        misbehave: dict[str, Any] = {
            "delay_ms": s.participant_delay_ms,
            "silent": s.silent_commands,
        }
        if self.settings.runs("payment"):
            rules = PaymentRules(s.decline_above_cents, s.decline_rate)
            self.agents["payment"] = build_participant_agent(
                self.app,
                name="charge_and_refund_payments",
                commands=self.topics[specs.PAYMENT_COMMANDS.name],
                accepts=payment.COMMANDS,
                apply=ledger_by_order(
                    self.table("payment_by_order"),
                    lambda ledger, c, t: payment.decide(ledger, c, t, rules),
                    payment.evolve,
                ),
                send_reply=self.reply_sender(specs.PAYMENT_EVENTS),
                **common,
                **misbehave,
            )
        if self.settings.runs("inventory"):
            self.agents["inventory"] = build_inventory_agent(
                self.app,
                commands=self.topics[specs.INVENTORY_COMMANDS.name],
                stock_by_sku=self.table("stock_by_sku", partitions=1),
                inventory_by_order=self.table("inventory_by_order", partitions=1),
                send_reply=self.reply_sender(specs.INVENTORY_EVENTS, plain=True),
                initial_stock=s.stock_for,
                **common,
                **misbehave,
            )
        if self.settings.runs("shipping"):
            unshippable = frozenset(s.unshippable_skus)
            self.agents["shipping"] = build_participant_agent(
                self.app,
                name="schedule_and_cancel_shipments",
                commands=self.topics[specs.SHIPPING_COMMANDS.name],
                accepts=shipping.COMMANDS,
                apply=ledger_by_order(
                    self.table("shipment_by_order"),
                    lambda ledger, c, t: shipping.decide(ledger, c, t, unshippable),
                    shipping.evolve,
                ),
                send_reply=self.reply_sender(specs.SHIPPING_EVENTS),
                **common,
                **misbehave,
            )
        if self.settings.saga_mode == "choreography":
            from streams.runtime.choreography_wiring import build_choreography

            saga_by_order = self.table("saga_by_order") if self.settings.runs("saga") else None
            self.agents.update(build_choreography(self, saga_by_order))
        elif self.settings.runs("saga"):
            self._build_saga(common)
        return self

    def triggers(self, specs_: tuple[specs.TopicSpec, ...]) -> faust.TopicT:
        """One subscription to several topics (co-partitioned, keyed by order id)."""
        return self.app.topic(
            *(self.settings.topic(spec.name) for spec in specs_),
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
        )

    def _build_saga(self, common: dict) -> None:
        saga_by_order = self.table("saga_by_order")
        deadlines = DeadlineIndex()
        s = self.settings.saga
        self.agents["saga"] = build_saga_agent(
            self.app,
            triggers=self.triggers(TRIGGER_TOPICS),
            saga_by_order=saga_by_order,
            send=self.send,
            policy=RetryPolicy(s.step_timeout_ms, s.max_attempts, s.backoff),
            deadlines=deadlines,
            **common,
        )

        async def send_tick(tick: Message) -> None:
            await self.send_plain(specs.SAGA_TICKS.name, tick)

        self.agents["timer"] = build_deadline_timer(
            self.app,
            saga_by_order=saga_by_order,
            deadlines=deadlines,
            send_tick=send_tick,
            owns_partition=self.owns_partition,
            interval=s.tick_seconds,
            unread_input=functools.partial(unread_records, self.app, self.input_topics()),
            clock=self.clock,
        )

    def input_topics(self) -> frozenset[str]:
        """The topics this process's saga agents read: triggers and participant commands."""
        names = [spec.name for spec in TRIGGER_TOPICS]
        names += [s.name for s in (specs.PAYMENT_COMMANDS, specs.INVENTORY_COMMANDS,
                                   specs.SHIPPING_COMMANDS)]  # fmt: skip
        return frozenset(self.settings.topic(name) for name in names)
