"""Orchestration and choreography reach the same final states on the same inputs: the
saga's outcome, the order's status, the money kept and the stock reserved."""

from __future__ import annotations

import pytest

from sinks import redis_queries
from streams.adapters.admin import delete_namespace_topics
from tests.integration.saga_support import SCENARIOS, SagaWorker, ledger_totals
from tests.support import eventually

pytestmark = pytest.mark.integration


def outcomes(worker: SagaWorker, redis_client) -> dict:
    ids = {name: f"{name}-same-input" for name in SCENARIOS}
    for name, (sku, quantity, price, _, _) in SCENARIOS.items():
        worker.place(ids[name], sku, quantity, price)
    finals = {}
    for name, order_id in ids.items():
        saga = worker.wait_final(order_id)
        prefix = worker.settings.redis_prefix

        def settled(order_id=order_id, prefix=prefix):
            order = redis_queries.get_order(redis_client, prefix, order_id)
            return order and order["status"] in ("confirmed", "cancelled") and order["status"]

        status = eventually(settled, what=f"{name} confirmed or cancelled")
        totals = ledger_totals(worker.settings, [order_id])
        finals[name] = (saga["status"], status, dict(totals["money"]), dict(totals["units"]))
    return finals


@pytest.mark.parametrize("mode", ["choreography"])
def test_choreography_reaches_the_orchestrated_final_states(tmp_path, redis_client, mode):
    results = {}
    for saga_mode in ("orchestration", mode):
        worker = SagaWorker(tmp_path / saga_mode, saga_mode, SAGA_MODE=saga_mode)
        try:
            results[saga_mode] = outcomes(worker, redis_client)
        finally:
            worker.close()
            delete_namespace_topics(worker.settings)
    assert results[mode] == results["orchestration"]
    expected = {name: (s[3], s[4]) for name, s in SCENARIOS.items()}
    assert {name: r[:2] for name, r in results[mode].items()} == expected
