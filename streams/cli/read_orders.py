"""``orderflow orders get|list``: the Redis read model of orders (the query side of CQRS).

Registered on the ``orders`` group of ``streams.cli.orders``, next to the commands.
"""

from __future__ import annotations

import click
import redis

from sinks import redis_queries
from streams.bootstrap import Services
from streams.cli.context import pass_services
from streams.cli.orders import orders
from streams.cli.output import emit_json, fail, fields, readable, table, usage
from streams.config.redact import redact_url

JSON = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
LIST_COLUMNS = ["order_id", "status", "total", "version", "created_at"]


def _positive(label: str, raw: str, most: int = 1_000_000) -> int:
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        usage(f"must be an integer from 1 to {most}, got {raw!r}", label)
    return int(raw)


def _redis(services: Services) -> redis.Redis:
    settings, client = services.settings, services.redis
    try:
        client.ping()
    except redis.RedisError as exc:
        fail(
            f"Redis at {redact_url(settings.redis_url)} does not answer ({exc}): "
            "run `orderflow stack up` or set REDIS_URL"
        )
    return client


@orders.command("get")
@click.argument("order_id")
@JSON
@pass_services
def get(services: Services, order_id: str, as_json: bool) -> None:
    """ORDER_ID as the Redis read model holds it (exit 1 if it is unknown)."""
    order = redis_queries.get_order(_redis(services), services.settings.redis_prefix, order_id)
    if order is None:
        fail(f"order {order_id} not found in the read model")
    if as_json:
        emit_json(order)
    else:
        click.echo(fields(readable({key: order[key] for key in sorted(order)})))


@orders.command("list")
@click.option("--user", "user_id", default=None, help="The customer's id (required).")
@click.option("--page", default="1", show_default=True, help="Page number, from 1.")
@click.option("--limit", default="20", show_default=True, help="Orders per page (1-1000).")
@JSON
@pass_services
def list_orders(services: Services, user_id: str | None, page: str, limit: str, as_json: bool):
    """A user's orders, newest first, one page at a time (Redis read model)."""
    if not user_id:
        usage("is required", "--user")
    page_no, per_page = _positive("--page", page), _positive("--limit", limit, 1000)
    client = _redis(services)
    prefix = services.settings.redis_prefix
    rows = redis_queries.list_user_orders(client, prefix, user_id, page_no, per_page)
    total = redis_queries.count_user_orders(client, prefix, user_id)
    if as_json:
        emit_json(
            {"user_id": user_id, "page": page_no, "limit": per_page, "total": total, "orders": rows}
        )
        return
    click.echo(f"user {user_id}: {total} order(s), page {page_no} ({per_page} per page)")
    if rows:
        click.echo(table([readable(row) for row in rows], LIST_COLUMNS))
