"""HTTP query API on the worker (Faust web): the same reads as the CLI, as JSON.

With embedded ClickHouse (chdb) the worker owns the database directory, so this API is
how other processes (the CLI, the demo) read analytics while a worker runs.
"""

from __future__ import annotations

import asyncio

import faust
import redis

from sinks import redis_queries
from sinks.clickhouse_client import ClickHouseError
from sinks.clickhouse_schema import schema_complete
from streams.bootstrap import Services
from streams.ops import query_params as params
from streams.ops.analytics import ANALYTICS, analytics_arguments, run_analytics
from streams.web.params import json_page

# Pages of a user's orders: a client asks for more pages rather than one huge answer.
USER_ORDERS_LIMIT = (20, 1000)


def register_views(app: faust.App, services: Services) -> None:
    """The query API; its clients are the process's (``services.redis``, ``.clickhouse``),
    opened on the first request that needs them."""
    settings = services.settings
    clients = services
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


def read_model_answer(clients: Services, database: str, name: str, kwargs: dict) -> dict | None:
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
