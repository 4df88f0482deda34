"""The ClickHouse replay target: a shadow database with the live schema, swapped in with
one ``EXCHANGE TABLES`` statement (see ``sinks.clickhouse_schema``)."""

from __future__ import annotations

from collections.abc import Sequence

from processors.projections.position import SourceEvent
from sinks.clickhouse_schema import (
    FACT_TABLES,
    database_exists,
    drop_schema,
    ensure_schema,
    exchange_tables,
    shadow_database,
)
from sinks.clickhouse_sink import ClickHouseSink
from streams.ops.replay.writers import feed_skipping

REPAIR_BATCH = 20_000


class ClickHouseTarget:
    """The ClickHouse order model in ``database``: a shadow database and the swap."""

    name = "clickhouse"

    def __init__(self, client, database: str) -> None:
        self.client, self.database = client, database
        self.shadow = shadow_database(database)
        self.swapped = False
        self.refused = 0  # events of the last repair's history the store refused

    def has_model(self) -> bool:
        return database_exists(self.client, self.database)

    def shadow_sink(self) -> ClickHouseSink:
        """An empty shadow database (any left by an interrupted run is dropped first)."""
        drop_schema(self.client, self.shadow)
        return ClickHouseSink(self.client, self.shadow)

    def live_sink(self) -> ClickHouseSink:
        return ClickHouseSink(self.client, self.database)

    def swap(self) -> None:
        ensure_schema(self.client, self.database)
        exchange_tables(self.client, self.database, self.shadow)
        self.swapped = True

    def finish(self) -> None:
        if self.swapped:
            drop_schema(self.client, self.shadow)

    def repair(self, order_ids: set[str], history: Sequence[SourceEvent]) -> int:
        """Build the shadow as the live facts minus ``order_ids`` plus their whole
        ``history`` from the log, then swap: the derived tables are recomputed by the
        materialized views on the way in, so wrong or missing rows of those orders (in
        any table) are replaced, and readers never see a half-repaired model."""
        self.refused = 0
        sink = self.shadow_sink()
        self.client.command(
            f"CREATE TABLE `{self.shadow}`.replay_orders (order_id String) ENGINE = Memory"
        )
        ids = sorted(order_ids)
        for start in range(0, len(ids), 100_000):
            rows = [[i] for i in ids[start : start + 100_000]]
            self.client.insert("replay_orders", rows, database=self.shadow)
        for table in FACT_TABLES:
            self.client.command(
                f"INSERT INTO `{self.shadow}`.{table} SELECT * FROM `{self.database}`.{table} "
                f"FINAL WHERE order_id NOT IN (SELECT order_id FROM `{self.shadow}`.replay_orders)",
                settings={"async_insert": 0},
            )
        for start in range(0, len(history), REPAIR_BATCH):
            self.refused += feed_skipping(sink, history[start : start + REPAIR_BATCH])[1]
        self.swap()
        return len(order_ids)
