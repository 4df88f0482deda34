"""HTTP query API on the worker (Faust web): the same reads as the CLI, as JSON.

With embedded ClickHouse (chdb) the worker owns the database directory, so this API is
how other processes (the CLI, the demo) read analytics while a worker runs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from typing import Any

import faust
import redis

from sinks import clickhouse_queries, clickhouse_saga_queries, redis_queries
from sinks.clickhouse_client import connect_clickhouse
from streams.settings import Settings

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


def _date(raw: str | None) -> dt.date | None:
    return dt.date.fromisoformat(raw) if raw else None


def analytics_arguments(name: str, query: dict[str, str]) -> dict[str, Any]:
    """Keyword arguments of an analytics query from the URL query string."""
    if name == "daily":
        return {"date_from": _date(query.get("from")), "date_to": _date(query.get("to"))}
    if name == "top-skus":
        return {"limit": int(query.get("limit", "10"))}
    if name == "count" and query.get("correlation_id"):
        return {"correlation_id": query["correlation_id"]}
    return {}


def register_views(app: faust.App, settings: Settings) -> None:
    clients = ReadClients(settings)
    prefix, database = settings.redis_prefix, settings.clickhouse_database

    @app.page("/health/")
    async def health(web, request):
        return web.json({"ok": True, "app": settings.app_id})

    @app.page("/orders/{order_id}/")
    async def order_detail(web, request, order_id: str):
        order = await asyncio.to_thread(redis_queries.get_order, clients.redis, prefix, order_id)
        if order is None:
            return web.json({"error": f"order {order_id} not found"}, status=404)
        return web.json(order)

    @app.page("/users/{user_id}/orders/")
    async def user_orders(web, request, user_id: str):
        page = int(request.query.get("page", "1"))
        limit = int(request.query.get("limit", "20"))
        rows = await asyncio.to_thread(
            redis_queries.list_user_orders, clients.redis, prefix, user_id, page, limit
        )
        return web.json({"user_id": user_id, "page": page, "limit": limit, "orders": rows})

    @app.page("/analytics/{name}/")
    async def analytics(web, request, name: str):
        query = ANALYTICS.get(name)
        if query is None:
            return web.json({"error": f"unknown analytics {name!r}"}, status=404)
        try:
            kwargs = analytics_arguments(name, dict(request.query))
        except ValueError as exc:
            return web.json({"error": str(exc)}, status=400)
        rows = await asyncio.to_thread(query, clients.clickhouse, database, **kwargs)
        return web.json({"analytics": name, "rows": rows})
