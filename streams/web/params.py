"""The worker's HTTP views answer a bad parameter (``streams.ops.query_params``'s
``BadParameter``) with a JSON 400 naming it, not a plain-text 500."""

from __future__ import annotations

import functools
from collections.abc import Callable

import faust

from streams.ops.query_params import BadParameter


def json_page(app: faust.App, path: str) -> Callable:
    """``app.page`` for ``path`` with and without its trailing slash, answering a
    ``BadParameter`` with a JSON 400 (aiohttp matches paths exactly, so ``/orders/X``
    would be a 404 where ``/orders/X/`` is served)."""
    full = path if path.endswith("/") else path + "/"

    def register(handler: Callable) -> Callable:
        @functools.wraps(handler)
        async def checked(web, request, **kwargs):
            try:
                return await handler(web, request, **kwargs)
            except BadParameter as exc:
                return web.json(exc.body(), status=400)

        app.page(full, name=handler.__name__)(checked)
        if full != "/":
            app.page(full.rstrip("/"), name=f"{handler.__name__}-no-slash")(checked)
        return checked

    return register
