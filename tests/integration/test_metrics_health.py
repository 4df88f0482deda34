"""``/metrics`` and ``/health/{live,ready}`` of a real worker process (``--role all``).

The counters move with traffic sent through Kafka; the lag of the idle group after that
(exactly-once) traffic is 0; readiness follows the Redis the worker writes to, a real
server this test starts and stops.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.request
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from streams.adapters.admin import create_topics, delete_namespace_topics
from streams.adapters.client import CommandClient, new_command
from streams.adapters.codec import AvroCodec
from streams.adapters.schema_store import SchemaStore
from streams.config.settings import Settings
from tests.integration.saga_support import RULES, TERMINAL
from tests.support import eventually, free_port, start_worker, worker_env

pytestmark = pytest.mark.integration

LINE = {"sku": "SKU-1", "quantity": 1, "unit_price_cents": 500}


def get(url: str) -> tuple[int | None, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError):
        return None, b""


def scrape(settings: Settings) -> dict[tuple[str, frozenset], float]:
    """Every sample of ``/metrics``: (name, labels) -> value."""
    status, body = get(f"{settings.web_url}/metrics")
    assert status == 200, body
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples, name: str, **labels: str) -> float:
    """Sum of ``name`` over the series whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


@pytest.fixture
def pipeline(tmp_path):
    env = worker_env(tmp_path, **RULES)
    settings = Settings.from_env(env)
    create_topics(settings)
    worker = start_worker(env, tmp_path)
    client = CommandClient(settings, AvroCodec(SchemaStore.load()))
    client.start_listening()
    yield settings, client
    client.close()
    worker.stop()
    delete_namespace_topics(settings)


def test_metrics_move_with_traffic_and_the_idle_group_has_no_lag(pipeline):
    settings, client = pipeline
    before = scrape(settings)
    orders = [f"o-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    commands = [
        new_command("CreateOrder", order_id, "corr-m", user_id="u", items=[LINE], currency="EUR")
        for order_id in orders
    ]
    unknown = new_command("ShipOrder", "no-such-order", "corr-m", tracking_number="T")
    for command in [*commands, unknown]:
        client.send(command)
    client.send_raw(b"o-bad", b"\x00 not avro")
    client.send(commands[0])  # the same command id again: its first outcome
    client.flush()
    client.wait_for_results([c["command_id"] for c in [*commands, unknown]], timeout=60)

    def moved():
        now = scrape(settings)
        sagas = total(now, "orderflow_saga_outcomes_total") - total(
            before, "orderflow_saga_outcomes_total"
        )
        projected = value(now, "orderflow_events_projected_total", store="redis")
        return now if sagas >= len(orders) and projected >= len(orders) else None

    after = eventually(moved, 90, "every saga to end and the orders to be projected")

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("orderflow_commands_total", result="accepted", reason="") >= len(orders)
    assert delta("orderflow_commands_total", result="rejected", reason="unknown_order") == 1
    assert delta("orderflow_commands_total", result="duplicate", reason="") == 1
    assert delta("orderflow_events_written_total", event="OrderCreated") == len(orders)
    assert delta("orderflow_dead_letters_total", kind="decode") == 1
    assert delta("orderflow_projection_batch_seconds_count", store="clickhouse") >= 1
    assert value(after, "orderflow_events_projected_total", store="clickhouse") >= len(orders)
    assert set(TERMINAL) >= {
        dict(labels)["outcome"]
        for (name, labels), v in after.items()
        if name == "orderflow_saga_outcomes_total" and v > 0
    }
    assert delta("orderflow_kafka_transactions_total", result="committed") > 0
    assert value(after, "process_resident_memory_bytes") > 0
    assert value(after, "process_cpu_seconds_total") > 0

    def idle():
        lag = {ls: v for (n, ls), v in scrape(settings).items() if n == "orderflow_consumer_lag"}
        return lag if lag and all(v == 0 for v in lag.values()) else None

    lag = eventually(idle, 60, "the group's lag to be 0 at rest (transaction markers excluded)")
    groups = {dict(labels)["group"] for labels in lag}
    assert groups == {settings.app_id}


@pytest.fixture
def own_redis(tmp_path):
    """A Redis server of this test's own, which it can stop and start again."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed (scripts/setup.sh installs it)")
    port = free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(tmp_path)]  # fmt: skip
    server = {"proc": subprocess.Popen(argv, stdout=subprocess.DEVNULL)}

    def start():
        server["proc"] = subprocess.Popen(argv, stdout=subprocess.DEVNULL)

    def stop():
        server["proc"].terminate()
        server["proc"].wait(10)

    yield f"redis://127.0.0.1:{port}/0", start, stop
    stop()


def test_ready_follows_the_stores_and_live_does_not(tmp_path, own_redis):
    url, start_redis, stop_redis = own_redis
    env = worker_env(tmp_path, ORDERFLOW_AGENTS="orders,projections", REDIS_URL=url)
    settings = Settings.from_env(env)
    create_topics(settings)
    worker = start_worker(env, tmp_path)
    ready_url = f"{settings.web_url}/health/ready"
    try:
        eventually(lambda: get(ready_url)[0] == 200, 90, "ready with every store up")

        stop_redis()
        status, body = eventually(
            lambda: (answer := get(ready_url))[0] == 503 and answer, 30, "not ready"
        )
        checks = json.loads(body)["checks"]
        assert checks["redis"] != "ok"
        assert (checks["partitions_assigned"], checks["tables_recovered"]) == ("ok", "ok")
        assert checks["clickhouse"] == "ok"
        assert url.rsplit(":", 1)[1] not in checks["redis"], "no address in the answer"
        assert get(f"{settings.web_url}/health/live")[0] == 200
        assert get(f"{settings.web_url}/health/")[0] == 200  # as before: the process answers

        start_redis()
        eventually(lambda: get(ready_url)[0] == 200, 30, "ready again once Redis is back")
    finally:
        worker.stop()
        delete_namespace_topics(settings)
