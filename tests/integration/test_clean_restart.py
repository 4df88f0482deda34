"""A worker stopped cleanly and started again keeps its tables under exactly_once.

Regression test for the second fix in ``streams/runtime/faust_fixes.py``: faust-streaming read
the changelogs' highwaters from an empty cache in a fresh process and restored nothing,
so after a clean restart the saga table was empty and every order unknown.
"""

from __future__ import annotations

import pytest

from streams.adapters.admin import delete_namespace_topics
from streams.adapters.client import new_command
from tests.integration.saga_support import SagaWorker, new_order_id
from tests.support import eventually

pytestmark = pytest.mark.integration


def test_tables_survive_a_clean_stop_and_start(tmp_path):
    worker = SagaWorker(tmp_path)
    try:
        order_id = worker.place(new_order_id("clean"), "SKU-1", 1, 900)
        before = worker.wait_final(order_id)
        assert before["status"] == "completed"
        worker.worker.stop()  # SIGTERM: a clean shutdown

        worker.restart()
        after = eventually(lambda: worker.saga(order_id), 60, "the saga after the restart")
        assert after == before
        # The order table too: an empty one would reject this as an unknown order.
        worker.client.start_listening()
        cancel = new_command("CancelOrder", order_id, reason="changed my mind")
        worker.client.send(cancel)
        worker.client.flush()
        result = worker.client.wait_for_results([cancel["command_id"]], 60)
        assert result[cancel["command_id"]]["status"] == "accepted"
        assert result[cancel["command_id"]]["version"] == 3  # created, confirmed, cancelled
    finally:
        worker.close()
        delete_namespace_topics(worker.settings)
