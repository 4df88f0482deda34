"""How a short-lived process (the CLI, ``orderflow verify``) reads the ClickHouse model.

- A ClickHouse server (``http(s)://`` CLICKHOUSE_URL): connect directly.
- Embedded chdb owned by a worker: ask that worker's HTTP API (``/analytics/<name>/``),
  since chdb lets one process at a time open the directory.
- Embedded chdb owned by nobody (or by this very process): open it directly; this
  process is then the owner for its short life.

Both paths parse the same query-string parameters with ``streams.web``'s
``analytics_arguments``, so an analytics read means the same thing either way.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request

from sinks.clickhouse_client import ClickHouseError, connect_clickhouse, read_owner
from sinks.clickhouse_schema import ensure_schema
from streams.settings import Settings
from streams.web import ANALYTICS, analytics_arguments

HTTP_TIMEOUT = 60.0


class ReadSideError(RuntimeError):
    """The read model cannot be reached or refused the query; the message says why."""


def read_analytics(
    settings: Settings, name: str, params: dict[str, str] | None = None
) -> list[dict]:
    """Rows of the analytics query ``name`` (a key of ``streams.web.ANALYTICS``) with
    URL-style ``params`` (``from``/``to`` ISO dates, ``limit``, ``correlation_id``)."""
    if name not in ANALYTICS:
        raise ReadSideError(f"unknown analytics {name!r}; known: {', '.join(ANALYTICS)}")
    params = {k: str(v) for k, v in (params or {}).items() if v is not None}
    try:
        kwargs = analytics_arguments(name, params)
    except ValueError as exc:
        raise ReadSideError(f"bad arguments for {name}: {exc}") from None
    owner = read_owner(settings)
    if owner is not None and owner.get("pid") != os.getpid():
        if not owner.get("url"):
            raise ReadSideError(
                f"embedded ClickHouse is owned by process {owner.get('pid')}, which serves "
                "no HTTP API; stop it or set CLICKHOUSE_URL to a ClickHouse server"
            )
        return ask_worker(owner["url"], name, params)
    try:
        client = connect_clickhouse(settings)
        ensure_schema(client, settings.clickhouse_database)  # an empty model reads as empty
        return ANALYTICS[name](client, settings.clickhouse_database, **kwargs)
    except ClickHouseError as exc:
        raise ReadSideError(str(exc)) from None


def ask_worker(base_url: str, name: str, params: dict[str, str]) -> list[dict]:
    """Rows of analytics ``name`` from the worker's HTTP API at ``base_url``."""
    url = f"{base_url.rstrip('/')}/analytics/{name}/"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as response:
            return json.load(response)["rows"]
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:200]
        raise ReadSideError(f"{url} answered {exc.code}: {detail}") from None
    except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
        raise ReadSideError(
            f"the worker owning embedded ClickHouse does not answer on {url} ({exc}); "
            "is it still starting?"
        ) from None
