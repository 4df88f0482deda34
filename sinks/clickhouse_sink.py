"""ClickHouse writer for the order read model: one INSERT per table per batch, each
named by a deduplication token so the server drops a batch it has already stored."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.insert import InsertContext

from processors.projections.clickhouse_orders import HANDLERS, Row
from processors.projections.clickhouse_sagas import HANDLERS as SAGA_HANDLERS
from sinks.clickhouse_schema import ensure_schema

_MAX_TOKEN = 200

# clickhouse-connect logs a traceback for every value it cannot serialise and then raises
# the error; the projection reports it once, with the event's place in the log, after
# splitting the batch (which serialises the bad value several times).
logging.getLogger("clickhouse_connect.driver.transform").setLevel(logging.CRITICAL)


def dedup_token(table: str, sources: Iterable[tuple[str, int, int]]) -> str:
    """A stable name for the rows read from ``sources`` (topic, partition, offset).

    The same batch flushed again gets the same token; any batch that differs in range
    or size gets another one. Long tokens (many partitions) are hashed.
    """
    ranges: dict[tuple[str, int], list[int]] = {}
    count = 0
    for topic, partition, offset in sources:
        count += 1
        span = ranges.get((topic, partition))
        if span is None:
            ranges[(topic, partition)] = [offset, offset]
        elif offset < span[0]:
            span[0] = offset
        elif offset > span[1]:
            span[1] = offset
    parts = ",".join(f"{t}:{p}:{lo}-{hi}" for (t, p), (lo, hi) in sorted(ranges.items()))
    token = f"{table}|{count}|{parts}"
    if len(token) > _MAX_TOKEN:
        token = f"{table}|{hashlib.blake2b(token.encode(), digest_size=16).hexdigest()}"
    return token


class ClickHouseSink:
    """Buffers ``Row`` writes and inserts them table by table into ``database``
    (created with its tables if missing).

    Idempotent twice over: the insert token drops a re-sent batch whole, and the table
    engines collapse a redelivered event that arrives in another batch (see
    ``sinks.clickhouse_schema``).
    """

    handlers = {**HANDLERS, **SAGA_HANDLERS}
    store = "ClickHouse"

    def __init__(self, client: Client, database: str) -> None:
        self._client = client
        self._database = database
        self._pending: dict[tuple[str, tuple[str, ...]], list[Row]] = {}
        # One insert context per table: building it costs a DESCRIBE TABLE round trip.
        self._contexts: dict[tuple[str, tuple[str, ...]], InsertContext] = {}
        ensure_schema(client, database)

    def add(self, writes: Iterable[Row]) -> None:
        pending = self._pending
        for row in writes:
            key = (row.table, row.columns)
            rows = pending.get(key)
            if rows is None:
                pending[key] = [row]
            else:
                rows.append(row)

    def flush(self) -> int:
        sent = 0
        # Tables leave the buffer one by one as their insert succeeds: a retry after a
        # failure re-sends only what may be missing, under the same token.
        for key in list(self._pending):
            table, columns = key
            rows = self._pending[key]
            context = self._contexts.get(key)
            if context is None:
                context = self._client.create_insert_context(
                    table, list(columns), database=self._database
                )
                self._contexts[key] = context
            context.settings = {
                "insert_deduplication_token": dedup_token(table, (r.source for r in rows)),
                # Async inserts follow other dedup rules (async_insert_deduplicate, off
                # by default) and chdb 26 defaults async_insert to 1; a sync insert keeps
                # the token authoritative wherever a profile enables async.
                "async_insert": 0,
            }
            context.data = [row.values for row in rows]
            try:
                self._client.insert(context=context)
            finally:
                context.data = None
            del self._pending[key]
            sent += len(rows)
        return sent

    def discard(self) -> None:
        """Forget the buffered rows (a batch the store refused is fed again in parts)."""
        self._pending = {}

    def close(self) -> None:
        self.flush()
