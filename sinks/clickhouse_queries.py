"""Analytics reads on the ClickHouse order model. Every value, the database name
included, is a server-side query parameter; results are plain JSON-ready values.

Money sums are taken in Int128. One order's total fits Int64 many times over (at most
10^17 cents, ``processors.orders.limits``), but ``sum`` over an Int64 column is Int64
too and wraps silently: 93 orders of the largest size on one day would turn the day's
revenue negative. Int128 holds ~1.7 * 10^21 such orders. A sum beyond the signed 64-bit
range is returned as a decimal string (exact; see ``_plain``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from clickhouse_connect.driver.client import Client

_INT64 = range(-(2**63), 2**63)


def _plain(value: Any) -> Any:
    # JSON-ready: instants as epoch milliseconds (as in the events), days as ISO dates,
    # integers beyond 64 bits as strings (the worker's JSON encoder, orjson, refuses
    # them, and most JSON readers would round them).
    if isinstance(value, int) and value not in _INT64:
        return str(value)
    if isinstance(value, dt.datetime):
        when = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return round(when.timestamp() * 1000)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _rows(client: Client, sql: str, **parameters: Any) -> list[dict]:
    result = client.query(sql, parameters=parameters)
    names = result.column_names
    return [
        {name: _plain(value) for name, value in zip(names, row, strict=True)}
        for row in result.result_rows
    ]


def daily_stats(
    client: Client, db: str, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> list[dict]:
    """Orders created, their revenue and cancellations per UTC day, oldest day first;
    both bounds inclusive and optional."""
    return _rows(
        client,
        """SELECT day, sum(orders) AS orders, sum(toInt128(revenue_cents)) AS revenue_cents,
                  sum(cancellations) AS cancellations
           FROM {db:Identifier}.daily_order_stats FINAL
           WHERE day >= {date_from:Date} AND day <= {date_to:Date}
           GROUP BY day ORDER BY day""",
        db=db,
        date_from=date_from or dt.date(1970, 1, 1),
        date_to=date_to or dt.date(2149, 6, 6),
    )


def funnel(client: Client, db: str) -> list[dict]:
    """Number of orders currently in each status, most populated first."""
    return _rows(
        client,
        """SELECT status, count() AS orders FROM {db:Identifier}.orders_current
           GROUP BY status ORDER BY orders DESC, status""",
        db=db,
    )


def top_skus(client: Client, db: str, limit: int = 10) -> list[dict]:
    """Best-selling SKUs by units ordered, with their revenue and number of orders."""
    return _rows(
        client,
        """SELECT sku, sum(quantity) AS units,
                  sum(toInt128(quantity) * unit_price_cents) AS revenue_cents,
                  uniqExact(order_id) AS orders
           FROM {db:Identifier}.order_events FINAL
           ARRAY JOIN item_skus AS sku, item_quantities AS quantity,
                      item_unit_prices_cents AS unit_price_cents
           WHERE event_name = 'OrderCreated'
           GROUP BY sku ORDER BY units DESC, sku LIMIT {limit:UInt32}""",
        db=db,
        limit=limit,
    )


def cancellation_reasons(client: Client, db: str) -> list[dict]:
    """How often each cancellation reason was given, most frequent first."""
    return _rows(
        client,
        """SELECT reason, count() AS cancellations FROM {db:Identifier}.order_events FINAL
           WHERE event_name = 'OrderCancelled'
           GROUP BY reason ORDER BY cancellations DESC, reason""",
        db=db,
    )


def get_order(client: Client, db: str, order_id: str) -> dict | None:
    """One order's current state as ClickHouse sees it (for drift checks)."""
    rows = _rows(
        client,
        "SELECT * FROM {db:Identifier}.orders_current WHERE order_id = {order_id:String}",
        db=db,
        order_id=order_id,
    )
    return rows[0] if rows else None


def count_orders(client: Client, db: str, correlation_id: str | None = None) -> list[dict]:
    """``[{"orders": n}]``: distinct orders, or only those with an event carrying
    ``correlation_id``. A one-row table like the other analytics."""
    return _rows(
        client,
        """SELECT uniqExact(order_id) AS orders FROM {db:Identifier}.order_events
           WHERE {correlation_id:String} = '' OR correlation_id = {correlation_id:String}""",
        db=db,
        correlation_id=correlation_id or "",
    )


def count_events(client: Client, db: str) -> list[dict]:
    """``[{"events": n}]``: distinct events stored (redelivered copies collapsed)."""
    return _rows(client, "SELECT count() AS events FROM {db:Identifier}.order_events FINAL", db=db)


def order_summaries(
    client: Client, db: str, after: str = "", limit: int | None = None
) -> list[dict]:
    """Orders' current state with their number of distinct stored events (for
    ``orderflow verify``): order_id, version, status, user_id, total_cents, events.

    In order_id order, from the first id above ``after``; at most ``limit`` rows (all
    when None), so a reader can page through a large model."""
    return _rows(
        client,
        """SELECT o.order_id AS order_id, o.version AS version, o.status AS status,
                  o.user_id AS user_id, o.total_cents AS total_cents,
                  ifNull(e.events, 0) AS events
           FROM {db:Identifier}.orders_current AS o
           LEFT JOIN (SELECT order_id, count() AS events
                      FROM {db:Identifier}.order_events FINAL GROUP BY order_id) AS e
           ON o.order_id = e.order_id
           WHERE o.order_id > {after:String}
           ORDER BY order_id
           LIMIT {limit:UInt64}""",
        db=db,
        after=after,
        limit=limit if limit is not None else 2**63,
    )
