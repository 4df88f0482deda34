"""The agents' error policy in a real worker: a bug (an exception the code raises on a
message it should handle) stops the worker, it does not dead-letter the message or skip
it; the batch is left uncommitted, and the worker started again (the bug fixed) decides
every command exactly once.

The bug is planted by running the worker's own entry point after replacing the order
domain's ``handle`` with one that raises for order ids starting ``bug-``: nothing in the
product knows about the test.
"""

from __future__ import annotations

import collections
import subprocess
import sys

import pytest

from streams.adapters.admin import create_topics, delete_namespace_topics
from streams.adapters.client import CommandClient, new_command
from streams.adapters.codec import AvroCodec
from streams.adapters.schema_store import SchemaStore
from streams.config.settings import Settings
from streams.config.topics import DEAD_LETTERS, ORDER_EVENTS
from tests.support import read_topic, start_worker, worker_env

pytestmark = pytest.mark.e2e

PLANTED = """
import processors.orders.handling as handling
real = handling.handle
def handle(state, command, now, snapshot_every):
    if command["order_id"].startswith("bug-"):
        raise KeyError("a bug planted by the test")
    return real(state, command, now, snapshot_every)
handling.handle = handle
from streams.cli.main import main
main()
"""
LINE = {"sku": "SKU-7", "quantity": 1, "unit_price_cents": 350}


def test_a_bug_stops_the_worker_and_the_restart_decides_the_command_once(tmp_path):
    env = worker_env(tmp_path)
    settings = Settings.from_env(env)
    create_topics(settings)
    codec = AvroCodec(SchemaStore.load())
    client = CommandClient(settings, codec)
    ids = ["good-1", "bug-1", "good-2"]
    commands = [
        new_command("CreateOrder", order_id, user_id="u", items=[LINE], currency="EUR")
        for order_id in ids
    ]
    log = tmp_path / "bugged-worker.log"
    try:
        client.start_listening()  # the bugged worker may decide good ones before it stops
        for command in commands:
            client.send(command)
        client.flush()
        with log.open("w") as out:
            bugged = subprocess.Popen(
                [sys.executable, "-c", PLANTED, "worker", "--role", "orders"],
                env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
            try:
                code = bugged.wait(timeout=120)  # the worker stops by itself
            finally:
                if bugged.poll() is None:
                    bugged.kill()
        text = log.read_text()
        assert code != 0, text[-2000:]
        assert "a bug while handling a batch" in text, text[-2000:]
        assert "KeyError('a bug planted by the test')" in text
        assert read_topic(settings, DEAD_LETTERS.name, expect=1, timeout=3) == []

        worker = start_worker(env, tmp_path, args=("--role", "orders"))
        try:
            results = client.wait_for_results([c["command_id"] for c in commands], timeout=90)
        finally:
            worker.stop()
    finally:
        client.close()
    assert {r["status"] for r in results.values()} == {"accepted"}, results
    # Every event there is (waiting for one more than expected shows a duplicate).
    events = read_topic(settings, ORDER_EVENTS.name, expect=len(ids) + 1, timeout=5)
    created = collections.Counter(codec.decode(r.value)["order_id"] for r in events)
    assert created == dict.fromkeys(ids, 1)
    assert read_topic(settings, DEAD_LETTERS.name, expect=1, timeout=3) == []
    delete_namespace_topics(settings)
