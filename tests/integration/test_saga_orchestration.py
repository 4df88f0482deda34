"""The orchestrated saga against the real broker: one worker (every agent) serves every
scenario; each test uses its own order ids, so the tests stay independent."""

from __future__ import annotations

import collections

import pytest
from kafka import KafkaProducer

from sinks import redis_queries
from streams.adapters.admin import delete_namespace_topics
from streams.adapters.kafka_clients import kafka_python_config
from tests.integration.saga_support import (
    SCENARIOS,
    SagaWorker,
    ledger_totals,
    log_messages,
    new_order_id,
    steps,
)
from tests.support import eventually, get_json

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def saga_worker(tmp_path_factory):
    worker = SagaWorker(tmp_path_factory.mktemp("saga-orchestration"))
    yield worker
    worker.close()
    delete_namespace_topics(worker.settings)


@pytest.fixture(scope="module")
def placed(saga_worker):
    """Every scenario's order, placed once; the tests read their outcomes."""
    ids = {name: new_order_id(name) for name in SCENARIOS}
    for name, (sku, quantity, price, _, _) in SCENARIOS.items():
        saga_worker.place(ids[name], sku, quantity, price)
    return ids


def test_happy_path_confirms_the_order_and_notifies_once(saga_worker, placed):
    saga = saga_worker.wait_final(placed["happy"])
    assert saga["status"] == "completed"
    assert [s for s, o in steps(saga) if o == "succeeded"] == [
        "charge", "reserve", "schedule", "confirm",
    ]  # fmt: skip
    assert saga["notified"] == ["order_confirmed"]


def test_payment_declined_cancels_without_refund(saga_worker, placed):
    saga = saga_worker.wait_final(placed["declined"])
    assert saga["status"] == "compensated"
    assert ("charge", "failed") in steps(saga)
    assert "refund" not in [s for s, _ in steps(saga)]
    assert ("cancel_order", "succeeded") in steps(saga)
    assert "amount over limit" in saga["reason"]


def test_out_of_stock_after_payment_refunds_then_cancels(saga_worker, placed):
    saga = saga_worker.wait_final(placed["out_of_stock"])
    done = [s for s, o in steps(saga) if o == "succeeded"]
    assert done == ["charge", "refund", "cancel_order"]
    assert saga["status"] == "compensated" and "out of stock" in saga["reason"]


def test_shipping_failure_releases_refunds_then_cancels(saga_worker, placed):
    saga = saga_worker.wait_final(placed["unshippable"])
    done = [s for s, o in steps(saga) if o == "succeeded"]
    assert done == ["charge", "reserve", "release", "refund", "cancel_order"]
    assert saga["notified"] == ["order_cancelled"]


def test_the_order_aggregate_ends_in_the_state_the_saga_says(saga_worker, placed, redis_client):
    for name, order_id in placed.items():
        saga_worker.wait_final(order_id)
        expected = SCENARIOS[name][4]

        def status(order_id=order_id, prefix=saga_worker.settings.redis_prefix):
            order = redis_queries.get_order(redis_client, prefix, order_id)
            return order and order["status"]

        assert eventually(lambda e=expected, s=status: s() == e and s(), what=name) == expected


def test_duplicate_delivery_of_every_command_and_reply_has_no_second_effect(saga_worker):
    order_id = saga_worker.place(new_order_id("dup"), "SKU-SCARCE", 1, 700)
    before = saga_worker.wait_final(order_id)
    settings = saga_worker.settings
    stock_url = f"{settings.web_url}/inventory/stock/"
    stock_before = get_json(stock_url)["stock"]["SKU-SCARCE"]
    producer = KafkaProducer(**kafka_python_config(settings))
    topics = [f"{area}.{kind}" for area in ("payments", "inventory", "shipping")
              for kind in ("commands", "events")]  # fmt: skip
    resent = 0
    for topic in topics:
        for message, record in log_messages(settings, topic):
            if message["order_id"] == order_id:
                producer.send(settings.topic(topic), key=record.key, value=record.value)
                resent += 1
    producer.flush()
    producer.close()
    assert resent >= 6  # three commands and three replies at least

    # Each reply now has three copies: the first, the re-sent one, and the participant's
    # answer to the re-sent command (the stored first reply, byte for byte).
    def copies() -> collections.Counter:
        return collections.Counter(
            m["event_id"]
            for topic in topics
            if topic.endswith("events")
            for m, _ in log_messages(settings, topic)
            if m["order_id"] == order_id
        )

    eventually(lambda: min(copies().values()) >= 3, what="duplicate commands answered again")
    after = saga_worker.saga(order_id)
    assert after["version"] == before["version"] and after["status"] == "completed"
    assert get_json(stock_url)["stock"]["SKU-SCARCE"] == stock_before
    totals = ledger_totals(settings, [order_id])
    assert totals["money"] == {"charged": 700}
    assert totals["units"] == {"SKU-SCARCE": 1}


def test_conservation_money_and_stock_follow_the_confirmed_orders(saga_worker, placed):
    finals = {oid: saga_worker.wait_final(oid) for oid in placed.values()}
    confirmed = [s for s in finals.values() if s["status"] == "completed"]
    totals = ledger_totals(saga_worker.settings, placed.values())
    revenue = sum(s["amount_cents"] for s in confirmed)
    assert totals["money"]["charged"] - totals["money"]["refunded"] == revenue
    units = {}
    for saga in confirmed:
        for line in saga["items"]:
            units[line["sku"]] = units.get(line["sku"], 0) + line["quantity"]
    assert totals["units"] == units
