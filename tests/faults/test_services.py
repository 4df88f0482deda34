"""The services fail under load: Kafka killed (-9) and started again, Redis down for a
while. The pipeline, as users run it (``orderflow worker``: the supervisor), waits,
catches up, and loses and doubles nothing.

A role may die of a Kafka outage: its consumer group session expires and, when the
outage outlasts the transaction timeout, the broker aborts the open transaction, so the
producer is fenced. The in-memory tables then hold writes whose changelog records were
aborted, so the only sound way on is the one Kafka Streams takes too: drop the state and
rebuild it from the changelogs, here by ending the process; the supervisor starts the
role again (its log says so) and it re-reads what the aborted transaction had handled.

These scenarios stop the stack every test runs on and start it again before they end
(``orderflow stack up`` starts what is not running, on the same data dirs). The outages
are short here; ``make chaos`` holds them for 30 s.
"""

from __future__ import annotations

import time

import pytest

from tests.faults.harness import (
    Load,
    Pipeline,
    assert_nothing_lost,
    audit,
    kill_service,
    stack,
)

pytestmark = [pytest.mark.faults, pytest.mark.timeout(900)]
OUTAGE_SECONDS = 12


def outage_under_load(tmp_path, service: str) -> None:
    """``service`` killed (-9) for ``OUTAGE_SECONDS`` while orders flow into the
    supervised worker, then started again; the worker lives on and loses nothing."""
    pipeline = Pipeline(tmp_path)
    try:
        pipeline.start("worker", None)
        load = Load(pipeline.settings, rate=10, count=240).start()
        load.wait_sent(80)
        try:
            kill_service(service)  # Redis: appendonly, what it acknowledged survives
            time.sleep(OUTAGE_SECONDS)  # the client's sends wait in its buffer
        finally:
            stack("up")
        result = audit(pipeline, load)
        alive = pipeline.alive()
    finally:
        pipeline.close()
    assert alive == {"worker": True}, f"the worker died while {service} was down: {pipeline.logs()}"
    assert_nothing_lost(result)


def test_kafka_killed_and_restarted_under_load_loses_nothing(tmp_path):
    outage_under_load(tmp_path, "kafka")


def test_redis_down_under_load_loses_nothing(tmp_path):
    outage_under_load(tmp_path, "redis")
