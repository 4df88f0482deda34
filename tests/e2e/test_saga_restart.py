"""A worker killed (-9) in the middle of many sagas resumes them after a restart and
finishes every one, charging and reserving exactly what the confirmed orders hold."""

from __future__ import annotations

import signal

import pytest

from streams.adapters.admin import delete_namespace_topics
from tests.integration.saga_support import SagaWorker, ledger_totals, new_order_id
from tests.support import eventually, get_json

pytestmark = pytest.mark.e2e

ORDERS = 24


def test_kill_9_mid_saga_then_every_saga_finishes_once(tmp_path):
    worker = SagaWorker(tmp_path, PARTICIPANT_DELAY_MS="150", SAGA_STEP_TIMEOUT_MS="4000")
    try:
        skus = ["SKU-1", "SKU-SCARCE", "SKU-OUT", "SKU-BIG"]
        ids = [
            worker.place(new_order_id(f"k{n}"), skus[n % 4], 1, 1_000 + n) for n in range(ORDERS)
        ]

        def mid_saga():
            rows = (get_json(f"{worker.settings.web_url}/sagas/") or {}).get("sagas", [])
            done = [r for r in rows if r["status"] in ("completed", "compensated")]
            return len(rows) == ORDERS and 0 < len(done) < ORDERS

        eventually(mid_saga, what="some sagas finished, some still running")
        worker.worker.proc.send_signal(signal.SIGKILL)
        worker.worker.proc.wait()
        worker.restart()
        finals = {order_id: worker.wait_final(order_id, timeout=120) for order_id in ids}
    finally:
        worker.close()
    assert {s["status"] for s in finals.values()} <= {"completed", "compensated"}
    confirmed = [s for s in finals.values() if s["status"] == "completed"]
    # SKU-SCARCE has 3 units: exactly three of its six orders can be confirmed.
    scarce = [s for s in confirmed if s["items"][0]["sku"] == "SKU-SCARCE"]
    assert len(scarce) == 3
    totals = ledger_totals(worker.settings, ids)
    revenue = sum(s["amount_cents"] for s in confirmed)
    assert totals["money"]["charged"] - totals["money"]["refunded"] == revenue
    units: dict[str, int] = {}
    for saga in confirmed:
        sku = saga["items"][0]["sku"]
        units[sku] = units.get(sku, 0) + 1
    assert totals["units"] == units
    delete_namespace_topics(worker.settings)
