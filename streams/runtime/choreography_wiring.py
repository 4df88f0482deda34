"""Wiring of the choreographed saga (``SAGA_MODE=choreography``), called by ``SagaWiring``.

Each service that this worker runs gets a reactor agent (``react_as_<service>``) reading
every order-keyed event topic, with its memory of order facts in ``order_facts_<service>``
(co-partitioned with those topics). The ``saga`` group gets the orders' reactor and the
observer, which keeps ``saga_by_order`` and sends the timeline and notifications.
"""

from __future__ import annotations

import faust

from processors.saga.agent import count_outcome
from processors.saga.choreography import observe_in_order, react
from processors.saga.state import Saga, evolve
from streams.config import topics as specs
from streams.runtime.faust_fixes import handle_each

EVENT_TOPICS = (
    specs.ORDER_EVENTS,
    specs.PAYMENT_EVENTS,
    specs.INVENTORY_EVENTS,
    specs.SHIPPING_EVENTS,
)


def build_reactor(wiring, service: str):
    """Register ``react_as_<service>``: events in, the service's own commands out."""
    memory_table = wiring.table(f"order_facts_{service}")
    codec, dead_letters = wiring.codec, wiring.dead_letters

    async def handle(event: faust.EventT) -> None:
        message = await dead_letters.decode(event, codec)
        if message is None:
            return
        order_id = message.get("order_id")
        if order_id is None:
            return
        before = memory_table.get(order_id)
        after, commands = react(service, before, message, wiring.clock())
        what = f"{service}'s reaction to {message.name} for order {order_id}"
        encoded = await dead_letters.encode_or_park(event, codec, commands, what)
        if encoded is None:
            return  # parked: the memory stays as it was, nothing is sent
        if after != before:
            memory_table[order_id] = after
        for command, value in zip(commands, encoded, strict=True):
            await wiring.send(command, value)

    @wiring.app.agent(wiring.triggers(EVENT_TOPICS), name=f"react_as_{service}")
    async def reactor(stream):
        await handle_each(stream, handle, wiring.batching)

    return reactor


def build_observer(wiring, saga_by_order: faust.Table):
    """Register ``observe_fulfilment``: the saga timeline, ClickHouse rows, notifications.
    Replies read before their order's OrderCreated wait in ``observer_waiting``."""
    codec, dead_letters = wiring.codec, wiring.dead_letters
    waiting_by_order = wiring.table("observer_waiting")

    async def handle(event: faust.EventT) -> None:
        message = await dead_letters.decode(event, codec)
        if message is None:
            return
        order_id = message.get("order_id")
        stored = saga_by_order.get(order_id) if order_id else None
        saga = Saga.from_dict(stored) if stored else None
        before = saga.status if saga else None
        # Only an order without a saga yet can have replies waiting (no lookup otherwise).
        waiting = (waiting_by_order.get(order_id) or []) if order_id and saga is None else []
        records, still = observe_in_order(saga, waiting, message, wiring.clock())
        what = f"the timeline of order {order_id} after {message.name}"
        encoded = await dead_letters.encode_or_park(event, codec, records, what)
        if encoded is None:
            return  # parked: the timeline stays as it was, nothing is sent
        if still != waiting:
            if still:
                waiting_by_order[order_id] = still
            else:
                del waiting_by_order[order_id]
        for record in records:
            saga = evolve(saga, record)
        if records:
            assert saga is not None  # folded from at least one record
            saga_by_order[order_id] = saga.to_dict()
            count_outcome(before, saga.status)
        for record, value in zip(records, encoded, strict=True):
            await wiring.send(record, value)

    @wiring.app.agent(wiring.triggers(EVENT_TOPICS), name="observe_fulfilment")
    async def observer(stream):
        await handle_each(stream, handle, wiring.batching)

    return observer


def build_choreography(wiring, saga_by_order: faust.Table | None) -> dict[str, object]:
    """Reactors for the services this worker runs; orders' reactor and the observer with
    the ``saga`` group (``saga_by_order`` is given then)."""
    agents = {}
    for service in ("payment", "inventory", "shipping"):
        if wiring.settings.runs(service):
            agents[f"react_as_{service}"] = build_reactor(wiring, service)
    if saga_by_order is not None:
        agents["react_as_orders"] = build_reactor(wiring, "orders")
        agents["observer"] = build_observer(wiring, saga_by_order)
    return agents
