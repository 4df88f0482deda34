"""The record registry (``streams.messages.Record`` and its ``GROUPS``) is exactly what
``schemas/`` defines, and every table keyed by message name holds the records of its groups:
a record added to ``schemas/`` and not to the registry, or to the registry and not to a
table that must know it, or a table naming a record ``schemas/`` does not define, fails
here instead of in a running worker."""

from __future__ import annotations

import pytest

from processors.inventory import domain as inventory
from processors.orders import handling
from processors.payment import domain as payment
from processors.projections import clickhouse_orders, clickhouse_sagas, redis_orders
from processors.projections.order_status import STATUS_AFTER
from processors.saga.choreography import OBSERVED, REACTIONS
from processors.saga.commands import DESTINATION
from processors.saga.decide import REPLIES, TRIGGERS
from processors.saga.state import COMMAND
from processors.shipping import domain as shipping
from streams import messages as m
from streams.adapters.schema_store import SchemaStore
from streams.messages import GROUPS, Record
from streams.runtime.saga_wiring import RECORD_TOPIC

pytestmark = pytest.mark.unit


def test_the_record_registry_names_exactly_the_records_of_the_schemas() -> None:
    schemas, registry = set(SchemaStore.load().names()), {r.value for r in Record}
    assert not schemas - registry, (
        f"records of schemas/ with no Record member: {sorted(schemas - registry)}"
    )
    assert not registry - schemas, (
        f"Record members schemas/ does not define: {sorted(registry - schemas)}"
    )


def test_every_record_is_in_the_group_of_its_schema_directory() -> None:
    store = SchemaStore.load()
    placed = [(name, group) for group, names in GROUPS.items() for name in names]
    group_of = dict(placed)
    assert len(group_of) == len(placed), "a record stands in two of messages.GROUPS"
    wrong = {
        name: (group_of.get(name), store.latest(name).group)
        for name in store.names()
        if group_of.get(name) != store.latest(name).group
    }
    assert not wrong, f"record: (its messages.GROUPS entry, its schemas/ directory): {wrong}"


TABLES = {
    "saga.decide.REPLIES": set(REPLIES),
    "saga.decide.TRIGGERS": set(TRIGGERS),
    "saga.commands.DESTINATION": set(DESTINATION),
    "saga.state.COMMAND (values)": set(COMMAND.values()),
    "saga.choreography.REACTIONS": set(REACTIONS),
    "saga.choreography.OBSERVED": set(OBSERVED),
    "projections.order_status.STATUS_AFTER": set(STATUS_AFTER),
    "projections.redis_orders.HANDLERS": set(redis_orders.HANDLERS),
    "projections.clickhouse_orders.HANDLERS": set(clickhouse_orders.HANDLERS),
    "projections.clickhouse_sagas.HANDLERS": set(clickhouse_sagas.HANDLERS),
    "saga_app.RECORD_TOPIC": set(RECORD_TOPIC),
    "orders.handling.COMMANDS": set(handling.COMMANDS),
    "payment.domain.COMMANDS": set(payment.COMMANDS),
    "inventory.domain.COMMANDS": set(inventory.COMMANDS),
    "shipping.domain.COMMANDS": set(shipping.COMMANDS),
}

# Table -> (the name of a union of messages' groups, that union): the records the table
# must hold, each of them and no other. A record added to a group (as schemas/ makes it,
# see the tests above) and missing from a table fails, naming both.
_R = Record
COVERAGE: dict[str, tuple[str, frozenset[Record]]] = {
    "projections.order_status.STATUS_AFTER": ("ORDER_EVENTS", m.ORDER_EVENTS),
    "projections.redis_orders.HANDLERS": ("ORDER_EVENTS", m.ORDER_EVENTS),
    "projections.clickhouse_orders.HANDLERS": ("ORDER_EVENTS", m.ORDER_EVENTS),
    "saga.commands.DESTINATION": ("SAGA_COMMANDS", m.SAGA_COMMANDS),
    "saga.state.COMMAND (values)": ("SAGA_COMMANDS", m.SAGA_COMMANDS),
    "saga.decide.REPLIES": (
        "PARTICIPANT_REPLIES + OrderConfirmed",
        m.PARTICIPANT_REPLIES | {_R.ORDER_CONFIRMED},
    ),
    "saga.decide.TRIGGERS": (
        "PARTICIPANT_REPLIES + SAGA_TICKS + OrderCreated, OrderConfirmed, OrderCancelled",
        m.PARTICIPANT_REPLIES
        | m.SAGA_TICKS
        | {_R.ORDER_CREATED, _R.ORDER_CONFIRMED, _R.ORDER_CANCELLED},
    ),
    "saga_app.RECORD_TOPIC": (
        "SAGA_RECORDS + SagaDeadlineReached",
        m.SAGA_RECORDS | {_R.SAGA_DEADLINE_REACHED},
    ),
    "orders.handling.COMMANDS": ("ORDER_COMMANDS", m.ORDER_COMMANDS),
    "payment.domain.COMMANDS": ("PAYMENT_COMMANDS", m.PAYMENT_COMMANDS),
    "inventory.domain.COMMANDS": ("INVENTORY_COMMANDS", m.INVENTORY_COMMANDS),
    "shipping.domain.COMMANDS": ("SHIPPING_COMMANDS", m.SHIPPING_COMMANDS),
}


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_name_in_a_table_is_a_record_of_the_schemas(table: str) -> None:
    unknown = TABLES[table] - set(SchemaStore.load().names())
    assert not unknown, f"{table} names records schemas/ does not define: {sorted(unknown)}"


@pytest.mark.parametrize("table", sorted(COVERAGE))
def test_a_table_holds_every_record_of_its_groups_and_no_other(table: str) -> None:
    label, records = COVERAGE[table]
    missing = sorted(map(str, records - TABLES[table]))
    extra = sorted(map(str, TABLES[table] - records))
    assert not missing, f"{table} has no entry for {missing} (of {label})"
    assert not extra, f"{table} has entries for {extra}, not of {label}"


def test_the_orchestrator_takes_every_reply_and_the_saga_records_go_to_a_topic() -> None:
    assert set(REPLIES) <= set(TRIGGERS)
    assert set(clickhouse_sagas.HANDLERS) <= set(RECORD_TOPIC)
