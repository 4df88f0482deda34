"""The supervisor's union of its roles' metrics, and the readiness verdict."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from streams.runtime.health import verdict
from streams.runtime.metrics import merge_expositions, role_up

pytestmark = pytest.mark.unit

ROLE_TEXT = """# HELP orderflow_commands_total Commands.
# TYPE orderflow_commands_total counter
orderflow_commands_total{result="accepted",reason=""} %d
# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes %d
"""


def test_the_union_has_each_family_once_and_every_sample_labelled_with_its_role():
    text = merge_expositions(
        {"orders": ROLE_TEXT % (5, 100), "saga": ROLE_TEXT % (0, 200), "supervisor": role_up(
            {"orders": True, "saga": True, "projections": False}
        )}
    ).decode()  # fmt: skip

    assert text.count("# TYPE orderflow_commands_total counter") == 1
    assert text.count("# TYPE process_resident_memory_bytes gauge") == 1
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    labels = (("reason", ""), ("result", "accepted"), ("role", "orders"))
    assert samples[("orderflow_commands_total", labels)] == 5
    assert samples[("process_resident_memory_bytes", (("role", "saga"),))] == 200
    # The supervisor's own series keep the role they name.
    assert samples[("orderflow_role_up", (("role", "projections"),))] == 0
    assert samples[("orderflow_role_up", (("role", "orders"),))] == 1


def test_ready_only_when_every_check_passed_and_the_body_names_the_failed_one():
    assert verdict({"tables_recovered": None, "redis": None}) == (
        200,
        {"ready": True, "checks": {"tables_recovered": "ok", "redis": "ok"}},
    )
    status, body = verdict({"tables_recovered": "still recovering", "redis": None})
    assert status == 503
    assert body == {"ready": False, "checks": {"tables_recovered": "still recovering",
                                               "redis": "ok"}}  # fmt: skip
