"""The bounds of ``processors.orders.limits`` through the real pipeline (a worker process).

The largest orders the domain accepts reach Redis and ClickHouse with their exact
values, their revenue summed over a day does not wrap (a hundred of them make 10^19
cents, beyond Int64), and ``orderflow verify`` is clean. A command beyond a bound gets
a rejected result naming the field, and nothing of it reaches the event log.

One worker and one namespace serve this module's tests; they use disjoint order ids.
"""

from __future__ import annotations

import json

import pytest
import redis

from processors.orders import limits
from sinks import redis_queries
from streams.adapters.admin import create_topics, delete_namespace_topics
from streams.adapters.client import CommandClient, new_command
from streams.adapters.codec import AvroCodec
from streams.adapters.eventlog import read_all_events
from streams.adapters.schema_store import SchemaStore
from streams.config.settings import Settings
from streams.ops.readside import read_analytics
from tests.support import AGGREGATE_ONLY, eventually, orderflow, start_worker, worker_env

pytestmark = pytest.mark.integration

ORDERS = 100  # 100 * 10^17 cents: a day's revenue beyond Int64's 9.2 * 10^18
WIDE = "\U0001f600"  # 4 bytes in UTF-8
USER = "\u00fc" * limits.MAX_ID_CHARS
SKUS = [f"{n:03d}" + WIDE * (limits.MAX_SKU_CHARS - 3) for n in range(limits.MAX_LINES)]
LARGEST = [
    {"sku": sku, "quantity": limits.MAX_QUANTITY, "unit_price_cents": limits.MAX_UNIT_PRICE_CENTS}
    for sku in SKUS
]
LINE = {"sku": "SKU-1", "quantity": 1, "unit_price_cents": 100}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("order-limits")
    env = worker_env(tmp, ORDERFLOW_AGENTS=AGGREGATE_ONLY)
    settings = Settings.from_env(env)
    create_topics(settings)
    store = redis.Redis.from_url(settings.redis_url)
    worker = start_worker(env, tmp)
    codec = AvroCodec(SchemaStore.load())
    client = CommandClient(settings, codec)
    client.start_listening()
    try:
        yield env, settings, codec, client, store
    finally:
        client.close()
        worker.stop()
        store.delete(*store.keys(f"{settings.redis_prefix}*") or ["-"])
        store.close()
        delete_namespace_topics(settings)


def send_all(client: CommandClient, commands: list) -> dict:
    for command in commands:
        client.send(command)
    client.flush()
    ids = [c["command_id"] for c in commands]
    results = client.wait_for_results(ids, timeout=120)
    assert set(results) == set(ids), f"{len(ids) - len(results)} command(s) got no outcome"
    return results


def test_the_largest_orders_are_stored_exactly_and_verify_is_clean(pipeline):
    env, settings, _, client, store = pipeline
    commands = [
        new_command("CreateOrder", f"max-{i:03d}", user_id=USER, items=LARGEST, currency="EUR")
        for i in range(ORDERS)
    ]
    results = send_all(client, commands)
    assert {r["status"] for r in results.values()} == {"accepted"}, results

    def in_redis():
        orders = [
            redis_queries.get_order(store, settings.redis_prefix, c["order_id"]) for c in commands
        ]
        return all(orders) and orders

    for order in eventually(in_redis, timeout=120, what="every order in Redis"):
        assert order["total_cents"] == limits.MAX_ORDER_TOTAL_CENTS
        assert order["items"] == LARGEST
        assert order["user_id"] == USER

    def in_clickhouse():
        summaries = read_analytics(settings, "order-summaries")
        daily = read_analytics(settings, "daily")
        done = len(summaries) == ORDERS and sum(int(d["orders"]) for d in daily) == ORDERS
        return done and (summaries, daily)

    summaries, daily = eventually(in_clickhouse, timeout=120, what="every order in ClickHouse")
    assert {int(s["total_cents"]) for s in summaries} == {limits.MAX_ORDER_TOTAL_CENTS}
    revenue = sum(int(d["revenue_cents"]) for d in daily)
    assert revenue == ORDERS * limits.MAX_ORDER_TOTAL_CENTS > limits.INT64_MAX
    top = read_analytics(settings, "top-skus", {"limit": str(limits.MAX_LINES)})
    line_revenue = ORDERS * limits.MAX_QUANTITY * limits.MAX_UNIT_PRICE_CENTS
    assert {r["sku"]: (int(r["units"]), int(r["revenue_cents"]), r["orders"]) for r in top} == {
        sku: (ORDERS * limits.MAX_QUANTITY, line_revenue, ORDERS) for sku in SKUS
    }

    done = orderflow(env, "verify", "--json")
    verdict = json.loads(done.stdout)
    assert done.returncode == 0, (done.stderr, verdict)
    assert verdict["drift"] == 0 and verdict["log"]["orders"] >= ORDERS


def test_commands_beyond_a_bound_are_rejected_with_the_reason(pipeline):
    _, settings, codec, client, _ = pipeline

    def create(order_id: str, items=(LINE,), **fields):
        body = {"user_id": "u1", "currency": "EUR", "items": list(items), **fields}
        return new_command("CreateOrder", order_id, **body)

    beyond = [
        # The fault-injection case: ~700 KB of command, once accepted and crash-looping.
        (create("bad-lines", [LINE] * 54_000), "too_many_items", "at most 100 lines"),
        (create("bad-qty", [{**LINE, "quantity": 2**32}]), "bad_quantity", "1 to 1,000,000"),
        (create("bad-price", [{**LINE, "unit_price_cents": 2**63 - 1}]), "bad_price", "line 1"),
        (create("bad-user", user_id=""), "bad_field", "user_id must not be empty"),
        (create("bad-currency", currency=""), "bad_field", "currency must be an ISO-4217"),
    ]
    results = send_all(client, [command for command, _, _ in beyond])
    for command, code, says in beyond:
        result = results[command["command_id"]]
        assert (result["status"], result["reason_code"]) == ("rejected", code), result
        assert says in result["reason"] and result["event_ids"] == []

    # The results are written in the transaction that would hold the events: none.
    rejected_ids = {command["order_id"] for command, _, _ in beyond}
    logged = {e.message["order_id"] for e in read_all_events(settings, codec)}
    assert not rejected_ids & logged
