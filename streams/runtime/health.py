"""Liveness and readiness of a worker process, as ``/health/live`` and ``/health/ready``.

Live: the process's event loop answers (the view runs on it). Ready: the process can do
its work now: its consumer has partitions from the group (a first rebalance done, none
in progress), its tables are recovered from their changelogs, and the stores its role
writes (Redis and ClickHouse, for the projections) answer. An orchestrator (Docker,
Kubernetes) restarts what is not live and routes nothing to what is not ready.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import faust
import redis
from clickhouse_connect.driver.client import Client

from streams.config.settings import Settings
from streams.runtime.faust_fixes import tables_recovered

# A store that does not answer this fast is not reachable, as far as readiness goes.
STORE_SECONDS = 2.0


def verdict(failures: Mapping[str, str | None]) -> tuple[int, dict]:
    """HTTP status and body of a readiness answer: check name -> why it failed, or None
    when it passed. 200 only when every check passed."""
    ready = all(why is None for why in failures.values())
    checks = {name: "ok" if why is None else why for name, why in failures.items()}
    return (200 if ready else 503), {"ready": ready, "checks": checks}


class Readiness:
    """The checks of one worker process; the store clients are opened on first use, by
    ``open_redis(timeout)`` and ``open_clickhouse()`` (the process's services)."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        open_redis: Callable[[float], redis.Redis],
        open_clickhouse: Callable[[], Client],
    ) -> None:
        self.app, self.settings = app, settings
        self.open_redis, self.open_clickhouse = open_redis, open_clickhouse
        self.assigned = False  # the consumer has been given its partitions once
        self._redis: redis.Redis | None = None
        self._clickhouse: Client | None = None
        app.on_partitions_assigned.connect(self._on_assigned)

    async def _on_assigned(self, app: faust.App, /, *args: Any, **kwargs: Any) -> None:
        self.assigned = True

    async def failures(self) -> dict[str, str | None]:
        checks: dict[str, Callable[[], Awaitable[str | None]]] = {
            "partitions_assigned": self.partitions,
            "tables_recovered": self.tables,
        }
        if self.settings.runs("projections"):  # the role that writes the read models
            checks.update(redis=self.redis, clickhouse=self.clickhouse)
        answers = await asyncio.gather(*(check() for check in checks.values()))
        return dict(zip(checks, answers, strict=True))

    async def partitions(self) -> str | None:
        if not self.assigned:
            return "the consumer has not joined its group yet"
        if self.app.rebalancing:
            return "the group is rebalancing"
        return None

    async def tables(self) -> str | None:
        if tables_recovered(self.app):
            return None
        return "tables are still being recovered from their changelogs"

    async def redis(self) -> str | None:
        client = self._redis
        if client is None:
            client = self._redis = self.open_redis(STORE_SECONDS)
        return await _reachable("Redis", client.ping)

    async def clickhouse(self) -> str | None:
        def select_one() -> None:
            if self._clickhouse is None:  # for chdb: the client this process owns
                self._clickhouse = self.open_clickhouse()
            self._clickhouse.command("SELECT 1")

        return await _reachable("ClickHouse", select_one)


async def _reachable(store: str, ping: Callable[[], object]) -> str | None:
    """None when ``ping`` (blocking) returns within ``STORE_SECONDS``, else why not; the
    error's class only, so no address or credential of a URL reaches the answer."""
    try:
        await asyncio.wait_for(asyncio.to_thread(ping), STORE_SECONDS + 1)
    except TimeoutError:
        return f"{store} did not answer within {STORE_SECONDS:.0f}s"
    except Exception as exc:
        return f"{store} is not reachable ({type(exc).__name__})"
    return None
