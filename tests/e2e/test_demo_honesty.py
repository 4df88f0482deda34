"""``orderflow demo`` reports only on a worker it started: with another worker already
answering on its port it refuses, in one line, and sends nothing."""

from __future__ import annotations

import pytest

from streams.adapters.admin import create_topics, delete_namespace_topics
from streams.config.settings import Settings
from tests.support import AGGREGATE_ONLY, orderflow, read_topic, start_worker, worker_env

pytestmark = pytest.mark.e2e


def test_demo_refuses_a_worker_it_did_not_start(tmp_path):
    env = worker_env(tmp_path, ORDERFLOW_AGENTS=AGGREGATE_ONLY)
    settings = Settings.from_env(env)
    create_topics(settings)
    worker = start_worker(env, tmp_path, args=())
    try:
        done = orderflow(env, "demo", "--orders", "3", timeout=60)
        assert done.returncode == 1
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
        assert f"already answers on {settings.web_url}" in done.stderr
        assert f"orderflow worker of app {settings.app_id}" in done.stderr
        assert read_topic(settings, "orders.commands", expect=1, timeout=3) == []
    finally:
        worker.stop()
        delete_namespace_topics(settings)
