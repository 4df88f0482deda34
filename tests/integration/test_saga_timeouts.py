"""A participant that stops answering: the step times out, is retried with the same
idempotency key and backoff, and is compensated; a compensation that never gets an
answer parks the saga as needs_attention (and it stays listed, never dropped)."""

from __future__ import annotations

import json

import pytest

from streams.adapters.admin import delete_namespace_topics
from tests.integration.saga_support import SagaWorker, log_messages, new_order_id, steps
from tests.support import eventually, get_json, orderflow

pytestmark = pytest.mark.integration

FAST = {"SAGA_STEP_TIMEOUT_MS": "800", "SAGA_MAX_ATTEMPTS": "2", "SAGA_BACKOFF": "1.5"}


@pytest.fixture
def worker_with(tmp_path):
    started = []

    def start(silent: str) -> SagaWorker:
        worker = SagaWorker(tmp_path / silent, PARTICIPANT_SILENT_COMMANDS=silent, **FAST)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.close()
        delete_namespace_topics(worker.settings)


def test_silent_shipping_is_retried_then_compensated(worker_with):
    worker = worker_with("ScheduleShipment")
    order_id = worker.place(new_order_id("silent"), "SKU-1", 1, 900)
    saga = worker.wait_final(order_id)
    assert saga["status"] == "compensated"
    assert steps(saga).count(("schedule", "sent")) == 2
    assert steps(saga).count(("schedule", "timed_out")) == 2
    done = [s for s, o in steps(saga) if o == "succeeded"]
    assert done == ["charge", "reserve", "cancel_shipment", "release", "refund", "cancel_order"]
    sent = [m for m, _ in log_messages(worker.settings, "shipping.commands")]
    schedules = [m for m in sent if m.name == "ScheduleShipment"]
    assert [m["attempt"] for m in schedules] == [1, 2]
    assert len({m["idempotency_key"] for m in schedules}) == 1


def test_a_compensation_that_never_answers_is_parked_as_needs_attention(worker_with):
    worker = worker_with("ScheduleShipment,CancelShipment")
    order_id = worker.place(new_order_id("parked"), "SKU-1", 1, 900)
    saga = worker.wait_final(order_id)
    assert saga["status"] == "needs_attention"
    assert saga["step"] == "cancel_shipment"
    body = get_json(f"{worker.settings.web_url}/sagas/?state=needs_attention")
    assert [row["order_id"] for row in body["sagas"]] == [order_id]


def test_a_parked_saga_resumed_by_the_operator_finishes_its_compensation(worker_with):
    worker = worker_with("ScheduleShipment,CancelShipment")
    order_id = worker.place(new_order_id("resume"), "SKU-1", 1, 900)
    assert worker.wait_final(order_id)["status"] == "needs_attention"
    # The operator fixes the shipping service (a worker without the silence), then resumes.
    worker.worker.stop()
    worker.env["PARTICIPANT_SILENT_COMMANDS"] = ""
    worker.restart()
    eventually(lambda: worker.saga(order_id), 60, "the restarted worker to show the saga")
    done = orderflow(worker.env, "saga", "resume", order_id, "--note", "carrier back", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] in ("compensating", "compensated")
    saga = worker.wait_final(order_id)
    assert saga["status"] == "compensated"
    assert ("cancel_shipment", "resumed") in steps(saga)
    resumed_at = steps(saga).index(("cancel_shipment", "resumed"))
    after = [s for s, o in steps(saga)[resumed_at:] if o == "succeeded"]
    assert after == ["cancel_shipment", "release", "refund", "cancel_order"]
    again = orderflow(worker.env, "saga", "resume", order_id)
    assert again.returncode == 1
    assert again.stderr.strip() == (
        f"error: the saga of order {order_id} is compensated, not needs_attention: "
        "there is nothing to resume"
    )
