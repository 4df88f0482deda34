"""Faust's own command line on the app, as a Faust user runs it: ``faust -A streams.app
worker`` creates the topics it needs (or refuses in one line), ``agents`` and ``tables``
list what the app has."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from streams.adapters.admin import admin_client, delete_namespace_topics
from streams.config.settings import Settings
from streams.config.topics import ALL_TOPICS
from tests.support import eventually, free_port, get_json, worker_env

pytestmark = pytest.mark.e2e

FAUST = str(Path(sys.executable).parent / "faust")


def faust(env: dict, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [FAUST, "-A", "streams.app", *args], env=env, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def test_agents_lists_every_agent_with_its_topics(tmp_path):
    env = worker_env(tmp_path)
    settings = Settings.from_env(env)
    done = faust(env, "agents")
    assert done.returncode == 0, done.stderr[-2000:]
    projected = f"{settings.topic('orders.events')}, {settings.topic('saga.events')}"
    assert "@project_read_models" in done.stdout and projected in done.stdout
    assert "@apply_order_commands" in done.stdout and "@orchestrate_fulfilment" in done.stdout


def test_tables_lists_the_tables(tmp_path):
    done = faust(worker_env(tmp_path), "tables")
    assert done.returncode == 0, done.stderr[-2000:]
    for table in ("order_by_id", "outcome_by_command", "saga_by_order", "stock_by_sku"):
        assert table in done.stdout
    assert "Missing description" not in done.stdout


def test_worker_refuses_in_one_line_when_kafka_is_down(tmp_path):
    env = worker_env(tmp_path, KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{free_port()}")
    done = faust(env, "worker", "-l", "info", timeout=60)
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "orderflow topics create" in errors[0], done.stderr[-2000:]
    assert "Traceback" not in done.stderr


def existing_topics(settings: Settings) -> set[str]:
    admin = admin_client(settings)
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


def test_worker_creates_the_topics_it_needs(tmp_path):
    env = worker_env(tmp_path)
    settings = Settings.from_env(env)
    assert settings.topic("orders.commands") not in existing_topics(settings)
    log = open(tmp_path / "faust-worker.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [FAUST, "-A", "streams.app", "worker", "-l", "info", "--web-port", str(settings.web_port)],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        eventually(
            lambda: get_json(f"{settings.web_url}/health/") or proc.poll() is not None,
            timeout=90,
            what="the Faust worker to answer",
        )
        assert proc.poll() is None, (tmp_path / "faust-worker.log").read_text()[-3000:]
        missing = {settings.topic(s.name) for s in ALL_TOPICS} - existing_topics(settings)
        assert not missing
        worker_log = (tmp_path / "faust-worker.log").read_text()
        assert "not found in cluster metadata" not in worker_log
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        delete_namespace_topics(settings)
