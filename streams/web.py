"""HTTP query API on the worker (Faust web): the same reads as the CLI, as JSON.

With embedded ClickHouse (chdb) the worker owns the database directory, so this API is
how other processes (the CLI, the demo) read analytics while a worker runs.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping
from typing import Any

import faust
import redis

from sinks import clickhouse_queries, clickhouse_saga_queries, redis_queries
from sinks.clickhouse_client import ClickHouseError, connect_clickhouse
from sinks.clickhouse_schema import schema_complete
from streams import web_params as params
from streams.settings import Settings
from streams.web_params import json_page

# Pages of a user's orders: a client asks for more pages rather than one huge answer.
USER_ORDERS_LIMIT = (20, 1000)

ANALYTICS = {
    "daily": clickhouse_queries.daily_stats,
    "funnel": clickhouse_queries.funnel,
    "top-skus": clickhouse_queries.top_skus,
    "cancellations": clickhouse_queries.cancellation_reasons,
    "count": clickhouse_queries.count_orders,
    "sagas": clickhouse_saga_queries.saga_step_stats,
    "order-summaries": clickhouse_queries.order_summaries,
}


class ReadClients:
    """Lazily opened clients, shared by the views of one worker process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @functools.cached_property
    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.settings.redis_url, decode_responses=False)

    @functools.cached_property
    def clickhouse(self):
        return connect_clickhouse(self.settings, owner_url=self.settings.web_url)


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


def register_views(app: faust.App, settings: Settings) -> None:
    clients = ReadClients(settings)
    prefix, database = settings.redis_prefix, settings.clickhouse_database

    @json_page(app, "/health/")
    async def health(web, request):
        return web.json({"ok": True, "app": settings.app_id})

    @json_page(app, "/orders/{order_id}/")
    async def order_detail(web, request, order_id: str):
        params.only(request.query, ())
        params.identifier("order_id", order_id)
        order = await asyncio.to_thread(redis_queries.get_order, clients.redis, prefix, order_id)
        if order is None:
            return web.json({"error": f"order {order_id} not found"}, status=404)
        return web.json(order)

    @json_page(app, "/users/{user_id}/orders/")
    async def user_orders(web, request, user_id: str):
        query = request.query
        params.only(query, ("page", "limit"))
        params.identifier("user_id", user_id)
        page = params.integer(query, "page", 1, 1, 1_000_000)
        limit = params.integer(query, "limit", USER_ORDERS_LIMIT[0], 1, USER_ORDERS_LIMIT[1])
        store = clients.redis
        rows, total = await asyncio.to_thread(user_page, store, prefix, user_id, page, limit)
        return web.json(
            {"user_id": user_id, "page": page, "limit": limit, "total": total,
             "truncated": page * limit < total, "orders": rows}
        )  # fmt: skip

    @json_page(app, "/analytics/{name}/")
    async def analytics(web, request, name: str):
        if name not in ANALYTICS:
            known = ", ".join(ANALYTICS)
            return web.json(
                {"error": f"unknown analytics {name!r}; known: {known}", "parameter": "name"},
                status=404,
            )
        kwargs = analytics_arguments(name, request.query)
        try:
            answer = await asyncio.to_thread(read_model_answer, clients, database, name, kwargs)
        except ClickHouseError as exc:
            return web.json({"error": "ClickHouse unavailable", "detail": str(exc)}, status=503)
        if answer is None:
            return web.json(
                {"error": f"the ClickHouse read model {database} does not exist yet",
                 "detail": "the projections create it when they start; try again shortly"},
                status=503,
            )  # fmt: skip
        return web.json(answer)


def user_page(store: redis.Redis, prefix: str, user_id: str, page: int, limit: int):
    """One page of a user's orders, newest first, and how many orders the user has."""
    rows = redis_queries.list_user_orders(store, prefix, user_id, page, limit)
    return rows, redis_queries.count_user_orders(store, prefix, user_id)


def read_model_answer(clients: ReadClients, database: str, name: str, kwargs: dict) -> dict | None:
    """The analytics answer, or None while the read model is not there yet (the database
    or one of its tables): a query on it would fail with ClickHouse's UNKNOWN_DATABASE or
    UNKNOWN_TABLE, a 500 that reads like a bug."""
    client = clients.clickhouse
    try:
        return run_analytics(client, database, name, kwargs)
    except Exception:
        if not schema_complete(client, database):
            return None
        raise
