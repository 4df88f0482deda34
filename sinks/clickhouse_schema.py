"""ClickHouse tables of the order read model, created idempotently.

Every table sets ``non_replicated_deduplication_window``: without it a plain MergeTree
ignores ``insert_deduplication_token`` (checked on chdb 26.9), so a retried batch would
be stored twice. Materialized-view targets need it too: the server passes a token
derived from the source insert's token down to them, but only a table with a window
keeps the log that recognises it.

Two layers keep counts exact:
1. Block level: the sink names each insert by its topic-partition-offset range; a batch
   re-sent after a crash between write and offset commit is dropped by the server,
   together with the rows its materialized views would have produced.
2. Row level, for redelivery that arrives in a *different* batch (after a rebalance, or
   a replay with other batch boundaries), which the token cannot recognise:
   - ``order_events`` is a ReplacingMergeTree keyed by (order_id, version, event_id);
     reads use FINAL.
   - ``orders`` is an AggregatingMergeTree holding only ``max`` and
     ``argMax(status, version)``. Both are idempotent and order-insensitive, so a
     repeated or late older event never changes or rewinds an order. (A
     ReplacingMergeTree(version) would need the whole current row on every write, and
     most events carry only the envelope; this way the projection never reads first.)
     Read it through the ``orders_current`` view.
   - ``daily_order_stats`` holds one contribution row per counted event, a
     ReplacingMergeTree keyed by (day, event_id); reads sum it with FINAL, so a
     duplicate collapses into one row instead of being added twice, as it would be in
     a SummingMergeTree. Days are UTC days of ``occurred_at``; revenue is the
     ``total_cents`` of orders created that day (minor units, currencies not split).

Every column holds every value the order domain accepts (``processors.orders.limits``):
quantities (at most 10^6) in ``UInt32``, unit prices (10^9) and order totals (10^17) in
``Int64``, the number of lines (100) in ``UInt32``. A row of ``daily_order_stats`` holds
one order's total, so ``Int64`` suffices there too; sums over many rows can exceed it
and are taken in Int128 by the queries (``sinks.clickhouse_queries``), which needs no
change to stored data.
"""

from __future__ import annotations

from clickhouse_connect.driver.binding import quote_identifier
from clickhouse_connect.driver.client import Client

DEDUP_WINDOW = 1000
_WINDOW = f"SETTINGS non_replicated_deduplication_window = {DEDUP_WINDOW}"

_TABLES = (
    f"""CREATE TABLE IF NOT EXISTS {{db}}.order_events (
    event_id String, event_name LowCardinality(String), order_id String, version UInt32,
    occurred_at DateTime64(3, 'UTC'), correlation_id String, causation_id String,
    user_id String, status LowCardinality(String), total_cents Int64,
    currency LowCardinality(String), item_skus Array(String),
    item_quantities Array(UInt32), item_unit_prices_cents Array(Int64),
    reason String, tracking_number String, payload String,
    kafka_topic LowCardinality(String), kafka_partition UInt32, kafka_offset UInt64
) ENGINE = ReplacingMergeTree ORDER BY (order_id, version, event_id) {_WINDOW}""",
    f"""CREATE TABLE IF NOT EXISTS {{db}}.orders (
    order_id String,
    version SimpleAggregateFunction(max, UInt32),
    status AggregateFunction(argMax, String, UInt32),
    user_id SimpleAggregateFunction(max, String),
    total_cents SimpleAggregateFunction(max, Int64),
    currency SimpleAggregateFunction(max, String),
    item_count SimpleAggregateFunction(max, UInt32),
    created_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    updated_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    cancel_reason SimpleAggregateFunction(max, String),
    tracking_number SimpleAggregateFunction(max, String)
) ENGINE = AggregatingMergeTree ORDER BY order_id {_WINDOW}""",
    """CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.orders_from_events TO {db}.orders AS
SELECT order_id, max(version) AS version,
    -- qualified: a bare `version` here would mean the max() alias above
    argMaxState(CAST(status, 'String'), order_events.version) AS status,
    max(user_id) AS user_id, max(total_cents) AS total_cents,
    max(CAST(currency, 'String')) AS currency,
    max(toUInt32(length(item_skus))) AS item_count,
    max(if(event_name = 'OrderCreated', occurred_at, toDateTime64(0, 3, 'UTC')))
        AS created_at,
    max(occurred_at) AS updated_at, max(reason) AS cancel_reason,
    max(tracking_number) AS tracking_number
FROM {db}.order_events GROUP BY order_id""",
    """CREATE VIEW IF NOT EXISTS {db}.orders_current AS
SELECT order_id, max(version) AS version, argMaxMerge(status) AS status,
    max(user_id) AS user_id, max(total_cents) AS total_cents, max(currency) AS currency,
    max(item_count) AS item_count, max(created_at) AS created_at,
    max(updated_at) AS updated_at, max(cancel_reason) AS cancel_reason,
    max(tracking_number) AS tracking_number
FROM {db}.orders GROUP BY order_id""",
    f"""CREATE TABLE IF NOT EXISTS {{db}}.daily_order_stats (
    day Date, event_id String, orders UInt8, revenue_cents Int64, cancellations UInt8
) ENGINE = ReplacingMergeTree ORDER BY (day, event_id) {_WINDOW}""",
    """CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.daily_order_stats_from_events
TO {db}.daily_order_stats AS
SELECT toDate(occurred_at, 'UTC') AS day, event_id,
    toUInt8(event_name = 'OrderCreated') AS orders,
    if(event_name = 'OrderCreated', total_cents, 0) AS revenue_cents,
    toUInt8(event_name = 'OrderCancelled') AS cancellations
FROM {db}.order_events WHERE event_name IN ('OrderCreated', 'OrderCancelled')""",
    f"""CREATE TABLE IF NOT EXISTS {{db}}.saga_steps (
    order_id String, saga_id String, step LowCardinality(String),
    command LowCardinality(String), outcome LowCardinality(String), reason String,
    at DateTime64(3, 'UTC'), attempt UInt16, event_id String,
    kafka_topic LowCardinality(String), kafka_partition UInt32, kafka_offset UInt64
) ENGINE = ReplacingMergeTree ORDER BY (order_id, saga_id, step, attempt, outcome) {_WINDOW}""",
)

TABLES = ("order_events", "orders", "daily_order_stats", "saga_steps")


def ensure_schema(client: Client, database: str) -> None:
    """Create ``database`` and the read-model tables and views if they are missing."""
    db = quote_identifier(database)
    client.command(f"CREATE DATABASE IF NOT EXISTS {db}")
    for ddl in _TABLES:
        client.command(ddl.format(db=db))


def drop_schema(client: Client, database: str) -> None:
    """Drop the whole read model (a rebuild starts from an empty database)."""
    client.command(f"DROP DATABASE IF EXISTS {quote_identifier(database)}")


# Shadow databases (replay) -------------------------------------------------------------
# A rebuild fills a shadow database with the same schema and then swaps every table with
# the live one in one EXCHANGE statement (Atomic databases; checked on chdb 26.9). The
# materialized views resolve their source and target tables by name, so after the swap
# the live views feed the swapped-in tables and the shadow's views the swapped-out ones.

# Tables the sink writes itself; ``orders`` and ``daily_order_stats`` are filled from
# ``order_events`` by materialized views and rebuild themselves when it is re-inserted.
FACT_TABLES = ("order_events", "saga_steps")


def shadow_database(database: str) -> str:
    """Name of the database a replay builds ``database``'s replacement in."""
    return f"{database}__shadow"


def exchange_tables(client: Client, database: str, other: str) -> None:
    """Swap every read-model table between ``database`` and ``other``, one statement."""
    a, b = quote_identifier(database), quote_identifier(other)
    pairs = ", ".join(f"{a}.{t} AND {b}.{t}" for t in TABLES)
    client.command(f"EXCHANGE TABLES {pairs}")


def schema_complete(client: Client, database: str) -> bool:
    """Whether ``database`` holds every read-model table: a query in the moment between
    ``CREATE DATABASE`` and its tables fails with UNKNOWN_TABLE, not UNKNOWN_DATABASE."""
    found = client.query(
        "SELECT count() FROM system.tables"
        " WHERE database = {db:String} AND has({t:Array(String)}, name)",
        parameters={"db": database, "t": list(TABLES)},
    ).result_rows[0][0]
    return found == len(TABLES)


def database_exists(client: Client, database: str) -> bool:
    """Whether ``database`` exists (a repair needs a live model to repair)."""
    return bool(
        client.query(
            "SELECT count() FROM system.databases WHERE name = {db:String}",
            parameters={"db": database},
        ).result_rows[0][0]
    )
