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
from streams.adapters.schema_store import SchemaStore
from streams.runtime.saga_wiring import RECORD_TOPIC

pytestmark = pytest.mark.unit

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
