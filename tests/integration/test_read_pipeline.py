"""Through the real pipeline (a worker process): the same events delivered twice leave
both read models unchanged, ``orderflow verify`` finds zero drift, and the analytics the
worker serves equal a count made directly from the event log.

One worker and one namespace serve this module's tests (starting a worker costs
seconds); the second test only reads, so their order does not matter.
"""

from __future__ import annotations

import json

import pytest
import redis

from bench.event_log import order_events, produce_events
from sinks import redis_queries
from streams.adapters.admin import create_topics, delete_namespace_topics
from streams.adapters.codec import AvroCodec
from streams.adapters.eventlog import read_all_events
from streams.adapters.schema_store import SchemaStore
from streams.config.settings import Settings
from streams.ops.lag import consumer_lag
from streams.ops.readside import read_analytics
from tests.integration.test_read_cli import as_compared, figures_from_log
from tests.support import eventually, orderflow, start_worker, worker_env

pytestmark = pytest.mark.integration

ORDERS = 300


def read_models(settings: Settings, store: redis.Redis) -> tuple:
    """Everything both read models hold for this namespace, comparable with ==."""
    return (
        redis_queries.all_orders(store, settings.redis_prefix),
        redis_queries.status_counts(store, settings.redis_prefix),
        read_analytics(settings, "order-summaries"),
        read_analytics(settings, "daily"),
    )


def caught_up(settings: Settings) -> bool:
    parts = [p for p in consumer_lag(settings) if p.topic == settings.topic("orders.events")]
    return bool(parts) and all(p.lag == 0 for p in parts)


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("read-pipeline")
    env = worker_env(tmp)
    settings = Settings.from_env(env)
    create_topics(settings)
    codec = AvroCodec(SchemaStore.load())
    store = redis.Redis.from_url(settings.redis_url)
    worker = start_worker(env, tmp)
    events = order_events(ORDERS, seed=11)
    try:
        produce_events(settings, codec, events)
        eventually(lambda: caught_up(settings), timeout=90, what="the worker caught up")
        yield env, settings, codec, store, events
    finally:
        worker.stop()
        store.delete(*store.keys(f"{settings.redis_prefix}*") or ["-"])
        delete_namespace_topics(settings)


def test_same_events_twice_leave_both_read_models_unchanged(pipeline):
    env, settings, codec, store, events = pipeline
    before = read_models(settings, store)
    assert len(before[0]) == ORDERS and len(before[2]) == ORDERS

    produce_events(settings, codec, events)  # every event delivered a second time
    eventually(lambda: caught_up(settings), timeout=90, what="the redelivery consumed")

    assert read_models(settings, store) == before
    result = orderflow(env, "verify", "--json", "--read-side-only")  # a log without results
    verdict = json.loads(result.stdout)
    assert result.returncode == 0, (result.stderr, verdict)
    assert verdict["drift"] == 0
    assert verdict["log"]["events"] == 2 * len(events)
    assert verdict["log"]["duplicates_skipped"] == len(events)
    assert verdict["models"]["redis"]["drift"] == verdict["models"]["clickhouse"]["drift"] == 0


def test_served_analytics_equal_a_count_made_from_the_event_log(pipeline):
    env, settings, codec, _, _ = pipeline
    expected = figures_from_log(e.message for e in read_all_events(settings, codec))
    for name in ("daily", "funnel", "top-skus", "cancellations"):
        params = {"limit": "1000"} if name == "top-skus" else {}
        assert as_compared(name, read_analytics(settings, name, params)) == expected[name], name
    # The CLI of another process reaches the worker-owned chdb through the worker's API.
    result = orderflow(env, "analytics", "funnel", "--json")
    assert result.returncode == 0, result.stderr
    assert as_compared("funnel", json.loads(result.stdout)["rows"]) == expected["funnel"]
