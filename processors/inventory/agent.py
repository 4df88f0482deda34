"""The inventory participant's agent, and why its topic has one partition.

Stock is per SKU and an order reserves several SKUs at once, all or nothing. Keying
commands by order (like every other topic) would let two partitions, processed by two
workers, read and write the same SKU's stock: two reservations could both see the last
unit. Keying by SKU would split one order's reservation over partitions and need a
saga of its own. So ``inventory.commands`` has **one partition** and the inventory
tables (``stock_by_sku``, ``inventory_by_order``) have one partition too: every
reservation is decided in one place, in log order, against the one true stock, and the
stock change, the order's ledger and the consumed offset commit in one transaction.

After a crash the tables are restored to the last commit and the same commands are
re-read in the same order, so every decision comes out the same: a reply that went out
before the crash (replies go to the order-keyed ``inventory.events``, which is outside
this one-partition transaction, so they are at-least-once) is sent again identically and
the saga takes it once. The price is throughput: one partition, one worker at a time.
"""

from __future__ import annotations

from collections.abc import Callable

import faust

from processors.idempotency import handle
from processors.inventory.domain import COMMANDS, decide, evolve, stock_changes
from processors.participant_agent import SendReply, build_participant_agent
from streams.adapters.codec import AvroCodec
from streams.config.clock import now_ms
from streams.messages import Message
from streams.runtime.deadletter import DeadLetters
from streams.runtime.faust_fixes import DEFAULT_BATCHING, Batching


def build_inventory_agent(
    app: faust.App,
    *,
    commands: faust.TopicT,
    stock_by_sku: faust.Table,
    inventory_by_order: faust.Table,
    send_reply: SendReply,
    initial_stock,
    codec: AvroCodec,
    dead_letters: DeadLetters,
    delay_ms: int = 0,
    silent: tuple[str, ...] = (),
    batching: Batching = DEFAULT_BATCHING,
    clock: Callable[[], int] = now_ms,
):
    """Register ``reserve_and_release_stock``; ``initial_stock(sku)`` gives a SKU's units
    before its first reservation."""

    def available(sku: str) -> int:
        units = stock_by_sku.get(sku)
        return initial_stock(sku) if units is None else units

    def apply(command: Message, now_ms: int) -> Message:
        order_id = command["order_id"]
        before = inventory_by_order.get(order_id)
        after, reply = handle(
            before, command, now_ms, lambda lg, c, t: decide(lg, c, t, available), evolve
        )
        if after is not before:
            for sku, change in stock_changes(reply).items():
                stock_by_sku[sku] = available(sku) + change
            inventory_by_order[order_id] = after
        return reply

    return build_participant_agent(
        app,
        name="reserve_and_release_stock",
        commands=commands,
        accepts=COMMANDS,
        apply=apply,
        send_reply=send_reply,
        codec=codec,
        dead_letters=dead_letters,
        delay_ms=delay_ms,
        silent=silent,
        batching=batching,
        clock=clock,
    )
