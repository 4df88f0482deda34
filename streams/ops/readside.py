"""How a short-lived process (the CLI, ``orderflow verify``) reads the ClickHouse model.

- A ClickHouse server (``http(s)://`` CLICKHOUSE_URL): connect directly.
- Embedded chdb owned by a worker: ask that worker's HTTP API (``/analytics/<name>/``),
  since chdb lets one process at a time open the directory.
- Embedded chdb owned by nobody (or by this very process): open it directly; this
  process is then the owner for its short life.

Both paths parse the same query-string parameters with ``streams.ops.analytics``'s
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
from streams.config.settings import Settings
from streams.ops.analytics import ANALYTICS, PAGED_BY, analytics_arguments, run_analytics

HTTP_TIMEOUT = 60.0


class ReadSideError(RuntimeError):
    """The read model cannot be reached or refused the query; the message says why."""


def read_analytics(
    settings: Settings, name: str, params: dict[str, str] | None = None
) -> list[dict]:
    """Rows of the analytics query ``name`` (a key of ``streams.ops.analytics.ANALYTICS``) with
    URL-style ``params`` (``from``/``to`` ISO dates, ``limit``, ``correlation_id``).

    A paged query (``order-summaries``) asked without ``limit`` is read to its end, one
    page at a time: the HTTP API bounds each answer, the callers (``verify``) want all."""
    if name not in ANALYTICS:
        raise ReadSideError(f"unknown analytics {name!r}; known: {', '.join(ANALYTICS)}")
    params = {k: str(v) for k, v in (params or {}).items() if v is not None}
    if name not in PAGED_BY or "limit" in params:
        return read_answer(settings, name, params)["rows"]
    rows: list[dict] = []
    while True:
        answer = read_answer(settings, name, params)
        rows += answer["rows"]
        if not answer["truncated"]:
            return rows
        params = {**params, "after": answer["next_after"]}


def read_answer(settings: Settings, name: str, params: dict[str, str]) -> dict:
    """One answer of analytics ``name``, as the worker's HTTP API gives it."""
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
        return ask_worker_answer(owner["url"], name, params)
    try:
        client = connect_clickhouse(settings)
        ensure_schema(client, settings.clickhouse_database)  # an empty model reads as empty
        return run_analytics(client, settings.clickhouse_database, name, kwargs)
    except ClickHouseError as exc:
        raise ReadSideError(str(exc)) from None


def ask_worker(base_url: str, name: str, params: dict[str, str]) -> list[dict]:
    """Rows of analytics ``name`` from the worker's HTTP API at ``base_url``."""
    return ask_worker_answer(base_url, name, params)["rows"]


def ask_worker_answer(base_url: str, name: str, params: dict[str, str]) -> dict:
    """The JSON answer of analytics ``name`` from the worker's HTTP API at ``base_url``."""
    url = f"{base_url.rstrip('/')}/analytics/{name}/"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as response:
            answer = json.load(response)
            answer["rows"]  # noqa: B018 - an answer without rows is not an answer
            return answer
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:200]
        raise ReadSideError(f"{url} answered {exc.code}: {detail}") from None
    except (urllib.error.URLError, OSError, ValueError, KeyError) as exc:
        raise ReadSideError(
            f"the worker owning embedded ClickHouse does not answer on {url} ({exc}); "
            "is it still starting?"
        ) from None
