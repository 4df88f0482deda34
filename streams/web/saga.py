"""HTTP views on a worker's saga tables (Faust web): what ``orderflow saga`` reads.

The views read the worker's own table partitions: a worker running the saga
(``ORDERFLOW_AGENTS`` unset or naming ``saga``) answers for every order when it is the
only saga worker, which is how orderflow runs it.
"""

from __future__ import annotations

import faust

from processors.saga.state import STATES
from streams.ops import query_params as params
from streams.runtime.faust_fixes import tables_recovered
from streams.web.params import json_page

RESTORING = "the worker is still restoring its tables from their changelogs"
SUMMARY = ("order_id", "saga_id", "mode", "status", "step", "attempt", "reason", "updated_at")
# Rows per answer of the list views (default, most); ``offset`` reads further pages.
LIST_LIMIT = (1000, 10_000)


def page_query(query) -> tuple[int, int]:
    """``offset`` and ``limit`` of a list view, checked."""
    offset = params.integer(query, "offset", 0, 0, 10**9)
    return offset, params.integer(query, "limit", LIST_LIMIT[0], 1, LIST_LIMIT[1])


def paged(rows: list, offset: int, limit: int) -> dict:
    """The page of ``rows`` at ``offset``, with whether rows follow it."""
    page, truncated = params.page_of(rows[offset:], limit)
    return {"rows": page, "offset": offset, "limit": limit, "truncated": truncated}


def saga_summary(saga: dict) -> dict:
    """The columns ``saga list`` shows."""
    return {key: saga.get(key) for key in SUMMARY}


def register_saga_views(app: faust.App, tables: dict[str, faust.Table]) -> None:
    """Register ``/sagas/``, ``/sagas/{order_id}/`` and ``/inventory/stock/`` for the
    tables this worker has."""
    sagas = tables.get("saga_by_order")
    stock = tables.get("stock_by_sku")

    def restoring(web):
        # Until recovery completes the tables are partial: an answer would be wrong
        # ("no saga") rather than late.
        if tables_recovered(app):
            return None
        return web.json({"error": "restoring", "detail": RESTORING}, status=503)

    if sagas is not None:

        @json_page(app, "/sagas/")
        async def saga_list(web, request):
            params.only(request.query, ("state", "offset", "limit"))
            state = params.choice(request.query, "state", STATES)
            offset, limit = page_query(request.query)
            if (busy := restoring(web)) is not None:
                return busy
            rows = [
                saga_summary(saga)
                for saga in list(sagas.values())
                if state is None or saga.get("status") == state
            ]
            rows.sort(key=lambda row: (row["updated_at"] or 0, row["order_id"]))
            page = paged(rows, offset, limit)
            return web.json({"state": state, "sagas": page.pop("rows"), **page})

        @json_page(app, "/sagas/{order_id}/")
        async def saga_detail(web, request, order_id: str):
            params.only(request.query, ())
            params.identifier("order_id", order_id)
            if (busy := restoring(web)) is not None:
                return busy
            saga = sagas.get(order_id)
            if saga is None:
                return web.json({"error": f"no saga for order {order_id}"}, status=404)
            return web.json(saga)

    if stock is not None:

        @json_page(app, "/inventory/stock/")
        async def stock_levels(web, request):
            params.only(request.query, ("offset", "limit"))
            offset, limit = page_query(request.query)
            page = paged(sorted(stock.items()), offset, limit)
            return web.json({"stock": dict(page.pop("rows")), **page})
