"""The tables keyed by message name agree with the schemas and with each other: a name
misspelt, a record added to one table and not another, or a table naming a record that
``schemas/`` does not define fails here instead of in a running worker."""

from __future__ import annotations

import pytest

from processors.projections import clickhouse_orders, clickhouse_sagas, redis_orders
from processors.projections.order_status import STATUS_AFTER
from processors.saga.choreography import OBSERVED, REACTIONS
from processors.saga.commands import DESTINATION
from processors.saga.decide import REPLIES, TRIGGERS
from processors.saga.state import COMMAND
from streams.messages import GROUPS, Record
from streams.saga_app import RECORD_TOPIC
from streams.schema_store import SchemaStore

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
}


@pytest.mark.parametrize("table", sorted(TABLES))
def test_every_name_in_a_table_is_a_record_of_the_schemas(table: str) -> None:
    unknown = TABLES[table] - set(SchemaStore.load().names())
    assert not unknown, f"{table} names records schemas/ does not define: {sorted(unknown)}"


def test_every_command_the_saga_sends_has_a_destination_and_no_other() -> None:
    assert set(COMMAND.values()) == set(DESTINATION)


def test_both_order_read_models_handle_every_order_event_with_a_status() -> None:
    assert set(redis_orders.HANDLERS) == set(STATUS_AFTER)
    assert set(clickhouse_orders.HANDLERS) == set(STATUS_AFTER)


def test_the_orchestrator_takes_every_reply_and_the_saga_records_go_to_a_topic() -> None:
    assert set(REPLIES) <= set(TRIGGERS)
    assert set(clickhouse_sagas.HANDLERS) <= set(RECORD_TOPIC)
