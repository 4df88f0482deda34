"""Operations views of a worker process: ``/metrics``, ``/health/live``, ``/health/ready``.

Kept apart from the query API (``streams.web.queries``): these answer Prometheus and the
orchestrator's probes, not users. ``/health/`` stays as it was (the process answers).
"""

from __future__ import annotations

import asyncio

import faust
from prometheus_client import REGISTRY

from streams.bootstrap import Services
from streams.ops.lag import consumer_lag
from streams.runtime import metrics
from streams.runtime.health import Readiness, verdict


def register_ops_views(app: faust.App, services: Services) -> None:
    """The three views, the consumer-lag collector of this process's group and the
    transaction counters."""
    settings = services.settings
    readiness = Readiness(app, settings, services.new_redis, services.new_clickhouse)
    metrics.count_transactions()
    group = settings.worker_app_id
    REGISTRY.register(metrics.ConsumerLagCollector(group, lambda: consumer_lag(settings, group)))

    @app.page("/health/live")
    async def live(web, request):
        return web.json({"live": True, "app": settings.worker_app_id})

    @app.page("/health/ready")
    async def ready(web, request):
        status, body = verdict(await readiness.failures())
        return web.json({**body, "app": settings.worker_app_id}, status=status)

    @app.page("/metrics")
    async def scrape(web, request):
        # In a thread: the lag collector asks the broker (at most every few seconds).
        body = await asyncio.to_thread(metrics.generate_latest)
        return web.bytes(body, headers={"Content-Type": metrics.CONTENT_TYPE})
