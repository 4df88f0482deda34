"""The analytics queries of the ClickHouse read model, by name, with their URL-style
arguments checked (``streams.ops.query_params``): one catalogue for the HTTP API
(``streams.web.queries``) and the CLI (``streams.ops.readside``), so a query means the
same thing either way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sinks import clickhouse_queries, clickhouse_saga_queries
from streams.ops import query_params as params

ANALYTICS = {
    "daily": clickhouse_queries.daily_stats,
    "funnel": clickhouse_queries.funnel,
    "top-skus": clickhouse_queries.top_skus,
    "cancellations": clickhouse_queries.cancellation_reasons,
    "count": clickhouse_queries.count_orders,
    "sagas": clickhouse_saga_queries.saga_step_stats,
    "order-summaries": clickhouse_queries.order_summaries,
}


# Analytics that take ``limit``: the view fetches one row more than asked, to say whether
# the answer was truncated. ``order-summaries`` pages on with ``after`` (the last order id).
LIMITS = {"top-skus": (10, 1000), "order-summaries": (1000, 10_000)}
PAGED_BY = {"order-summaries": "order_id"}


def analytics_arguments(name: str, query: Mapping[str, str]) -> dict[str, Any]:
    """Keyword arguments of an analytics query from the URL query string; a parameter
    the query does not take, or a value it cannot use, raises ``BadParameter``."""
    if name == "daily":
        params.only(query, ("from", "to"))
        return {"date_from": params.date(query, "from"), "date_to": params.date(query, "to")}
    if name == "count":
        params.only(query, ("correlation_id",))
        correlation_id = params.identifier("correlation_id", query.get("correlation_id"))
        return {"correlation_id": correlation_id} if correlation_id else {}
    kwargs: dict[str, Any] = {}
    if name in PAGED_BY:
        params.only(query, ("limit", "after"))
        kwargs["after"] = params.identifier("after", query.get("after")) or ""
    elif name in LIMITS:
        params.only(query, ("limit",))
    else:
        params.only(query, ())
    if name in LIMITS:
        default, most = LIMITS[name]
        kwargs["limit"] = params.integer(query, "limit", default, 1, most)
    return kwargs


def run_analytics(client, database: str, name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The JSON answer of analytics ``name``: its rows, and for a bounded query the limit,
    whether rows were left out and where the next page starts."""
    if "limit" not in kwargs:
        return {"analytics": name, "rows": ANALYTICS[name](client, database, **kwargs)}
    limit = kwargs["limit"]
    rows, truncated = params.page_of(
        ANALYTICS[name](client, database, **{**kwargs, "limit": limit + 1}), limit
    )
    answer = {"analytics": name, "rows": rows, "limit": limit, "truncated": truncated}
    if name in PAGED_BY:
        answer["next_after"] = rows[-1][PAGED_BY[name]] if truncated else None
    return answer
