"""Given an order event, the ClickHouse handler gives one ``order_events`` row; a batch's
insert token names its offsets; a failed flush keeps its rows for the retry."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processors.projections.clickhouse_orders import HANDLERS, ORDER_EVENT_COLUMNS
from processors.projections.order_status import STATUS_AFTER
from processors.projections.position import SourceEvent
from sinks.clickhouse_sink import ClickHouseSink, dedup_token
from streams.messages import Message

pytestmark = pytest.mark.unit

AT = 1_767_225_600_000
ITEMS = [
    {"sku": "A", "quantity": 2, "unit_price_cents": 150},
    {"sku": "B", "quantity": 1, "unit_price_cents": 99},
]


def event(name: str, version: int, offset: int = 7, **payload) -> SourceEvent:
    body = {
        "event_id": f"e{version}",
        "order_id": "o1",
        "version": version,
        "occurred_at": AT,
        "correlation_id": "c",
        "causation_id": "k",
        **payload,
    }
    return SourceEvent(Message(name, body), "ns.orders.events", 2, offset, AT)


def test_created_becomes_a_typed_row_that_keeps_the_whole_body_and_its_position():
    ev = event("OrderCreated", 1, user_id="u1", items=ITEMS, currency="EUR", total_cents=399)
    [row] = HANDLERS["OrderCreated"](ev)
    values = dict(zip(row.columns, row.values, strict=True))
    assert row.table == "order_events" and row.columns == ORDER_EVENT_COLUMNS
    assert values["status"] == "pending" and values["occurred_at"] == AT
    assert (values["item_skus"], values["item_quantities"], values["item_unit_prices_cents"]) == (
        ["A", "B"],
        [2, 1],
        [150, 99],
    )
    assert json.loads(values["payload"]) == ev.body
    assert (values["kafka_topic"], values["kafka_partition"], values["kafka_offset"]) == (
        "ns.orders.events",
        2,
        7,
    )
    assert row.source == ("ns.orders.events", 2, 7)


@pytest.mark.parametrize("name", sorted(set(STATUS_AFTER) - {"OrderCreated"}))
def test_envelope_only_events_leave_payload_columns_empty(name):
    [row] = HANDLERS[name](event(name, 2, reason="r"))
    values = dict(zip(row.columns, row.values, strict=True))
    assert values["status"] == STATUS_AFTER[name]
    assert values["user_id"] == "" and values["item_skus"] == [] and values["total_cents"] == 0


positions = st.lists(
    st.tuples(st.sampled_from(["t1", "t2"]), st.integers(0, 3), st.integers(0, 10**9)),
    min_size=1,
    max_size=60,
)


@given(positions, st.randoms())
def test_the_token_names_the_offset_ranges_in_any_order(sources, rnd):
    shuffled = list(sources)
    rnd.shuffle(shuffled)
    assert dedup_token("order_events", shuffled) == dedup_token("order_events", sources)
    assert len(dedup_token("order_events", sources)) <= 200


@given(positions)
def test_another_range_or_size_or_table_gets_another_token(sources):
    token = dedup_token("order_events", sources)
    topic, partition, offset = sources[-1]
    beyond = max(o for t, p, o in sources if (t, p) == (topic, partition)) + 1
    assert dedup_token("order_events", [*sources, (topic, partition, beyond)]) != token
    assert dedup_token("saga_steps", sources) != token


class FlakyClient:
    """Fails the first insert, then records the inserts it is given."""

    def __init__(self):
        self.inserts, self.failed = [], False

    def command(self, sql):
        return None

    def create_insert_context(self, table, column_names, database):
        return SimpleNamespace(table=table, database=database, settings={}, data=None)

    def insert(self, context):
        if not self.failed:
            self.failed = True
            raise ConnectionError("server went away")
        token = context.settings["insert_deduplication_token"]
        self.inserts.append((context.table, len(context.data), context.database, token))


def test_a_failed_flush_keeps_its_rows_and_retries_under_the_same_token():
    client = FlakyClient()
    sink = ClickHouseSink(client, "db")
    events = [event("OrderConfirmed", v, offset=v) for v in (2, 3, 4)]
    for e in events:
        sink.add(HANDLERS[e.name](e))
    with pytest.raises(ConnectionError):
        sink.flush()
    assert sink.flush() == 3
    assert client.inserts == [
        (
            "order_events",
            3,
            "db",
            dedup_token("order_events", [(e.topic, e.partition, e.offset) for e in events]),
        )
    ]
    assert sink.flush() == 0
