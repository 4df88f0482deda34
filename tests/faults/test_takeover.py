"""Scale-out that survives: two processes of each deciding role in one group, kill -9
one of each under load, then, once it is back, the other.

Before ``streams/runtime/faust_fixes.py`` fix 5 the survivor crashed on takeover: a partition that
had been its standby came back to it with a stale transactional producer, fenced by the
dead process (``ProducerFenced`` → app crash; faust-streaming/faust#323). The order of
starts makes that happen on every run: the first pair owns every partition before the
second pair joins, and it is the second pair that is killed first.
"""

from __future__ import annotations

import pytest

from tests.faults.harness import Load, Pipeline, assert_nothing_lost, audit
from tests.support import free_port, orderflow

pytestmark = [pytest.mark.faults, pytest.mark.timeout(900)]


def test_kill_9_one_worker_then_the_other_under_load_loses_nothing(tmp_path):
    pipeline = Pipeline(tmp_path)
    try:
        pipeline.start("projections", "projections")
        pipeline.start("orders-1", "orders")
        pipeline.start("saga-1", "saga")
        pipeline.start("orders-2", "orders")
        pipeline.start("saga-2", "saga")
        load = Load(pipeline.settings, rate=15, count=480).start()

        load.wait_sent(120)
        pipeline.kill9("orders-2", "saga-2")  # the survivors take their partitions back
        load.wait_sent(240)
        assert pipeline.alive() == {
            "projections": True, "orders-1": True, "saga-1": True,
            "orders-2": False, "saga-2": False,
        }, f"a survivor died on takeover; read {pipeline.logs()}"  # fmt: skip
        pipeline.start("orders-2", "orders", wait=False)
        pipeline.start("saga-2", "saga", wait=False)
        load.wait_sent(360)
        pipeline.kill9("orders-1", "saga-1")  # then the other
        result = audit(pipeline, load)
        survivors = pipeline.alive()
    finally:
        pipeline.close()
    assert survivors["orders-2"] and survivors["saga-2"], survivors
    assert_nothing_lost(result)


def test_a_second_projections_process_on_the_same_embedded_clickhouse_refuses(tmp_path):
    """chdb opens a directory in one process: a second projections process (or a second
    supervised worker on the same data dir) says who owns it and exits, instead of
    taking partitions and crash-looping on the busy directory."""
    pipeline = Pipeline(tmp_path)
    try:
        owner = pipeline.start("projections", "projections")
        for args in (("--role", "projections"), ()):  # the role alone, a whole supervisor
            env = dict(pipeline.env, ORDERFLOW_WEB_PORT=str(free_port()))
            out = orderflow(env, "worker", *args, timeout=120)
            assert out.returncode == 1, out.stdout + out.stderr
            lines = out.stderr.strip().splitlines()
            assert len(lines) == 1, out.stderr
            assert f"owned by process {owner.proc.pid}" in lines[0]
            assert "--role orders" in lines[0]
        assert pipeline.alive() == {"projections": True}
    finally:
        pipeline.close()
