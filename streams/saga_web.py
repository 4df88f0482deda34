"""HTTP views on a worker's saga tables (Faust web): what ``orderflow saga`` reads.

The views read the worker's own table partitions: a worker running the saga
(``ORDERFLOW_AGENTS`` unset or naming ``saga``) answers for every order when it is the
only saga worker, which is how orderflow runs it.
"""

from __future__ import annotations

import faust

RESTORING = "the worker is still restoring its tables from their changelogs"
SUMMARY = ("order_id", "saga_id", "mode", "status", "step", "attempt", "reason", "updated_at")


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
        if app.tables.recovery.completed.is_set():
            return None
        return web.json({"error": "restoring", "detail": RESTORING}, status=503)

    if sagas is not None:

        @app.page("/sagas/")
        async def saga_list(web, request):
            if (busy := restoring(web)) is not None:
                return busy
            state = request.query.get("state")
            rows = [
                saga_summary(saga)
                for saga in list(sagas.values())
                if state is None or saga.get("status") == state
            ]
            rows.sort(key=lambda row: (row["updated_at"] or 0, row["order_id"]))
            return web.json({"state": state, "sagas": rows})

        @app.page("/sagas/{order_id}/")
        async def saga_detail(web, request, order_id: str):
            if (busy := restoring(web)) is not None:
                return busy
            saga = sagas.get(order_id)
            if saga is None:
                return web.json({"error": f"no saga for order {order_id}"}, status=404)
            return web.json(saga)

    if stock is not None:

        @app.page("/inventory/stock/")
        async def stock_levels(web, request):
            return web.json({"stock": dict(stock.items())})
