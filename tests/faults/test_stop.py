"""SIGTERM under load: every role process stops by itself (exit 0, no SIGKILL needed),
and once restarted the pipeline loses nothing and doubles nothing.

The seconds each stop took are printed (``-s`` shows them; ``RELIABILITY.md`` has the
numbers from ``make chaos``); the test asserts only that each stop happened on its own
within the 30 s grace that docker-compose gives (``stop_grace_period``).
"""

from __future__ import annotations

import pytest

from tests.faults.harness import Load, Pipeline, assert_nothing_lost, audit

pytestmark = [pytest.mark.faults, pytest.mark.timeout(900)]
GRACE = 30


def test_sigterm_each_role_under_load_then_restart_loses_nothing(tmp_path):
    pipeline = Pipeline(tmp_path)
    stops = {}
    try:
        for role in ("projections", "orders", "saga"):
            pipeline.start(role, role)
        load = Load(pipeline.settings, rate=15, count=300).start()
        for n, role in enumerate(("orders", "saga", "projections"), start=1):
            load.wait_sent(75 * n)
            stops[role] = pipeline.terminate(role, timeout=GRACE)
            pipeline.start(role, role, wait=False)
        result = audit(pipeline, load)
    finally:
        pipeline.close()
    seconds = {role: round(s, 1) for role, (s, _) in stops.items()}
    print(f"seconds to stop after SIGTERM, by role: {seconds}")
    assert {role: code for role, (_, code) in stops.items()} == dict.fromkeys(stops, 0), (
        f"a role did not stop by itself within {GRACE} s (negative: killed); {pipeline.logs()}"
    )
    assert_nothing_lost(result)
