"""``orderflow worker`` without ``--role``: a supervisor with one process per role
(``streams.config.roles``) behind one HTTP port. The supervised topology runs the whole
pipeline, survives a ``kill -9`` of one role process, reports a role that stops
answering, and stops every process on SIGTERM.

The first three tests share one supervised worker (one namespace), each with its own
order ids and leaving every role running; the SIGTERM test stops a worker of its own.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import redis

from streams.adapters.admin import create_topics, delete_namespace_topics
from streams.adapters.client import CommandClient, new_command
from streams.config.roles import ROLES
from streams.config.settings import Settings
from streams.ops.demo import WorkerProcess
from tests.integration.saga_support import (
    RULES,
    SCENARIOS,
    TERMINAL,
    codec,
    ledger_totals,
    new_order_id,
)
from tests.support import eventually, free_port_block, orderflow, read_topic, worker_env

pytestmark = pytest.mark.e2e

# Participants answer after 150 ms, so a stream of sagas takes seconds, not milliseconds:
# long enough to kill a role while some sagas are done and others are not.
WORKER_RULES = {**RULES, "PARTICIPANT_DELAY_MS": "150", "SAGA_STEP_TIMEOUT_MS": "4000"}
FINAL_ORDER_EVENT = {"completed": "OrderConfirmed", "compensated": "OrderCancelled"}


class SupervisedWorker(WorkerProcess):
    """``orderflow worker`` with no ``--role``, spelt out here: the supervisor, whatever
    the default of the shared helpers becomes."""

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it until it exits
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streams.cli.main", "worker"],
            stdout=log, stderr=subprocess.STDOUT, env=self.env,
        )  # fmt: skip


class Pipeline:
    """A supervised worker in a namespace of its own, and a client sending orders to it."""

    def __init__(self, tmp: Path) -> None:
        env = worker_env(tmp, ORDERFLOW_WEB_PORT=str(free_port_block(1 + len(ROLES))))
        for name in ("ORDERFLOW_AGENTS", "ORDERFLOW_ROLE"):  # both would skip the supervisor
            env.pop(name, None)
        env.update(WORKER_RULES)
        self.env, self.settings = env, Settings.from_env(env)
        self.url = self.settings.web_url
        create_topics(self.settings)
        self.worker = SupervisedWorker(self.settings, tmp / "supervisor.log", env=env)
        self.worker.start()
        self.worker.wait_ready(timeout=90)
        self.client = CommandClient(self.settings, codec)

    @property
    def pid(self) -> int:
        return self.worker.proc.pid

    def log(self) -> str:
        return self.worker.log_path.read_text(errors="replace")

    def place(self, order_id: str, sku: str, quantity: int, price: int, corr: str) -> str:
        line = {"sku": sku, "quantity": quantity, "unit_price_cents": price}
        self.client.send(
            new_command("CreateOrder", order_id, corr, user_id="u", items=[line], currency="EUR")
        )
        return order_id

    def wait_sagas(self, order_ids, timeout: float = 90) -> dict[str, dict]:
        """Every order's final saga, read through the supervisor's ``/sagas/<id>/``."""
        finals: dict[str, dict] = {}

        def all_final():
            for order_id in [o for o in order_ids if o not in finals]:
                _, saga = http(f"{self.url}/sagas/{order_id}/")
                if saga and saga.get("status") in TERMINAL:
                    finals[order_id] = saga
            return len(finals) == len(order_ids)

        eventually(all_final, timeout, f"every saga to finish ({len(order_ids)} orders)")
        return finals

    def close(self) -> None:
        self.client.close()
        self.worker.stop()


def http(url: str) -> tuple[int | None, dict | None]:
    """(status, JSON body) of a GET; (None, None) when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read())
        except ValueError:
            return exc.code, None
    except (urllib.error.URLError, OSError, ValueError):
        return None, None


def role_children(pid: int) -> dict[str, int]:
    """The supervisor's child processes by the role on their command line."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except FileNotFoundError:
        return {}
    roles = {}
    for child in map(int, children):
        try:
            argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except (FileNotFoundError, ProcessLookupError):
            continue  # exited in between
        if b"--role" in argv and argv.index(b"--role") + 1 < len(argv):
            roles[argv[argv.index(b"--role") + 1].decode()] = child
    return roles


def every_role(pid: int, timeout: float = 30) -> dict[str, int]:
    """The supervisor's children once there is one per role."""

    def complete():
        children = role_children(pid)
        return children if set(children) == set(ROLES) else None

    return eventually(complete, timeout, "one child process per role")


def exists(pid: int) -> bool:
    """Whether ``pid`` is still in the process table (running or an unreaped zombie)."""
    return Path(f"/proc/{pid}").exists()


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def assert_verify_clean(env: dict[str, str], at_least_orders: int) -> dict:
    """``orderflow verify --json``, polled until the read models catch up with the log
    (exit 0, no drift); its figures checked."""
    last: list = []

    def clean():
        result = orderflow(env, "verify", "--json")
        last[:] = [result.returncode, result.stdout[-2000:], result.stderr[-2000:]]
        if result.returncode != 0:
            return None
        verdict = json.loads(result.stdout)
        return verdict if verdict["drift"] == 0 else None

    try:
        verdict = eventually(clean, 60, "`orderflow verify` to report clean")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last verify (code, stdout, stderr): {last}") from None
    assert verdict["log"]["orders"] >= at_least_orders
    assert verdict["log"]["duplicates_skipped"] == 0
    assert verdict["log"]["unfoldable"] == 0
    assert set(verdict["models"]) == {"redis", "clickhouse"}
    assert all(model["drift"] == 0 for model in verdict["models"].values())
    return verdict


def order_events(settings: Settings, order_ids) -> dict[str, list]:
    """Each order's events on ``orders.events``, in log order (one partition per order)."""
    wanted = set(order_ids)
    events = collections.defaultdict(list)
    for record in read_topic(settings, "orders.events", expect=2 * len(wanted)):
        message = codec.decode(record.value)
        if message["order_id"] in wanted:
            events[message["order_id"]].append(message)
    return events


def remove_namespace(settings: Settings) -> None:
    """The namespace's topics and Redis keys (its ClickHouse lives in the test's tmp dir)."""
    delete_namespace_topics(settings)
    store = redis.Redis.from_url(settings.redis_url)
    keys = list(store.scan_iter(f"{settings.redis_prefix}*", count=1000))
    if keys:
        store.delete(*keys)
    store.close()


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    pipeline = Pipeline(tmp_path_factory.mktemp("worker-roles"))
    yield pipeline
    pipeline.close()
    remove_namespace(pipeline.settings)


def test_the_supervised_roles_run_the_whole_pipeline(pipeline):
    """Without ``--role`` the worker is a supervisor with one child per role; 40 orders of
    every saga scenario reach Redis, ClickHouse and a final saga, all read through the
    supervisor's port (so forwarding to the saga and projections roles works), and
    ``orderflow verify`` finds no drift between the log and the read models."""
    children = every_role(pipeline.pid)
    assert len(set(children.values())) == len(ROLES)
    corr = f"roles-{uuid.uuid4().hex[:8]}"
    names = list(SCENARIOS)
    placed = {}
    for n in range(40):
        name = names[n % len(names)]
        sku, quantity, price, _, _ = SCENARIOS[name]
        placed[pipeline.place(new_order_id(f"r{n}"), sku, quantity, price, corr)] = name
    pipeline.client.flush()

    finals = pipeline.wait_sagas(list(placed))
    for order_id, name in placed.items():
        assert finals[order_id]["status"] == SCENARIOS[name][3], (order_id, name)

    def orders_in_redis():
        statuses = {o: http(f"{pipeline.url}/orders/{o}/")[1] or {} for o in placed}
        return all(statuses[o].get("status") == SCENARIOS[name][4] for o, name in placed.items())

    eventually(orders_in_redis, 60, "every order in Redis with its saga's outcome")

    def in_clickhouse():
        _, body = http(f"{pipeline.url}/analytics/count/?correlation_id={corr}")
        rows = (body or {}).get("rows") or [{}]
        return int(rows[0].get("orders", 0)) == len(placed)

    eventually(in_clickhouse, 60, "every order counted in ClickHouse")
    assert_verify_clean(pipeline.env, at_least_orders=len(placed))
    # No role process was restarted on the way.
    assert role_children(pipeline.pid) == children


def test_kill_9_of_the_saga_role_is_survived(pipeline):
    """A ``kill -9`` of the saga role process mid-stream: the supervisor reports it in
    ``/health/`` and starts a new saga process (the other roles keep theirs); every saga,
    including those of orders sent while it was down, finishes exactly once: money and
    stock moved match the confirmed orders, each order's events are versions 1..n with
    no repeat, and ``orderflow verify`` is clean."""
    children = every_role(pipeline.pid)
    killed = children["saga"]
    corr = f"kill-{uuid.uuid4().hex[:8]}"
    skus = ["SKU-1", "SKU-SCARCE", "SKU-OUT", "SKU-BIG"]
    first = [pipeline.place(new_order_id(f"k{n}"), skus[n % 4], 1, 1_000 + n, corr)
             for n in range(16)]  # fmt: skip
    pipeline.client.flush()

    def mid_stream():
        status, body = http(f"{pipeline.url}/sagas/")
        rows = [r for r in (body or {}).get("sagas", []) if r["order_id"] in set(first)]
        done = [r for r in rows if r["status"] in TERMINAL]
        return status == 200 and len(rows) == len(first) and 0 < len(done) < len(first)

    eventually(mid_stream, 60, "some sagas finished, some still running")
    os.kill(killed, signal.SIGKILL)
    eventually(lambda: not running(killed), 10, f"pid {killed} to die")
    # The supervisor waits at least a second before the restart: the door sees the hole.
    status, body = http(f"{pipeline.url}/health/")
    assert status == 503, (status, body)
    assert body["roles"]["saga"] == "not answering"
    assert body["roles"]["orders"] == body["roles"]["projections"] == "ok"
    second = [pipeline.place(new_order_id(f"k{n}"), skus[n % 4], 1, 1_000 + n, corr)
              for n in range(16, 24)]  # fmt: skip
    pipeline.client.flush()

    def restarted():
        now = role_children(pipeline.pid)
        return now if now.get("saga") not in (None, killed) else None

    after = eventually(restarted, 30, "a new saga process")
    assert after["orders"] == children["orders"]
    assert after["projections"] == children["projections"]
    eventually(lambda: http(f"{pipeline.url}/health/")[0] == 200, 60, "/health/ back to 200")
    ids = first + second
    finals = pipeline.wait_sagas(ids, timeout=120)
    # The new saga process stayed up: one restart, not a crash loop.
    assert role_children(pipeline.pid)["saga"] == after["saga"]
    assert f"role saga (pid {killed}) exited with -9" in pipeline.log()

    assert {s["status"] for s in finals.values()} <= {"completed", "compensated"}
    confirmed = [s for s in finals.values() if s["status"] == "completed"]
    # SKU-SCARCE has 3 units: exactly three of its six orders can be confirmed.
    assert sum(s["items"][0]["sku"] == "SKU-SCARCE" for s in confirmed) == 3
    totals = ledger_totals(pipeline.settings, ids)
    revenue = sum(s["amount_cents"] for s in confirmed)
    assert totals["money"]["charged"] - totals["money"]["refunded"] == revenue
    assert totals["units"] == collections.Counter(s["items"][0]["sku"] for s in confirmed)

    events = order_events(pipeline.settings, ids)
    assert set(events) == set(ids)
    for order_id, messages in events.items():
        versions = [m["version"] for m in messages]
        assert versions == list(range(1, len(versions) + 1)), (order_id, versions)
        assert len({m["event_id"] for m in messages}) == len(messages), order_id
        assert messages[0].name == "OrderCreated"
        assert messages[-1].name == FINAL_ORDER_EVENT[finals[order_id]["status"]], order_id
    assert_verify_clean(pipeline.env, at_least_orders=len(ids))


def test_a_role_that_stops_answering_makes_health_503_promptly(pipeline):
    """A role process that is alive but does not answer (SIGSTOP): the supervisor's
    ``/health/`` says so within seconds (503, that role "not answering") instead of
    waiting on it, and is 200 again once the role answers; nothing is restarted."""
    children = every_role(pipeline.pid)
    hung = children["projections"]
    os.kill(hung, signal.SIGSTOP)
    try:
        started = time.monotonic()
        status, body = http(f"{pipeline.url}/health/")
        seconds = time.monotonic() - started
    finally:
        os.kill(hung, signal.SIGCONT)
    assert status == 503, (status, body, round(seconds, 1))
    assert body["roles"] == {"orders": "ok", "saga": "ok", "projections": "not answering"}
    assert seconds < 8
    eventually(lambda: http(f"{pipeline.url}/health/")[0] == 200, 30, "/health/ back to 200")
    assert role_children(pipeline.pid) == children


def test_sigterm_stops_the_supervisor_and_every_role(tmp_path):
    """SIGTERM to the supervisor of a busy worker: it exits 0 within 30 s, having stopped
    every role process (none left, not even unreaped) and restarted none of them."""
    pipeline = Pipeline(tmp_path)
    try:
        children = every_role(pipeline.pid)
        corr = f"term-{uuid.uuid4().hex[:8]}"
        ids = [pipeline.place(new_order_id(f"t{n}"), "SKU-1", 1, 1_000, corr) for n in range(8)]
        pipeline.client.flush()
        pipeline.wait_sagas(ids[:1])  # every role at work, the others still in flight
        started = time.monotonic()
        pipeline.worker.proc.send_signal(signal.SIGTERM)
        try:
            code = pipeline.worker.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the supervisor still runs 30 s after SIGTERM; read {pipeline.log()}")
        seconds = time.monotonic() - started
        left = {role: pid for role, pid in children.items() if exists(pid)}
    finally:
        pipeline.close()
        remove_namespace(pipeline.settings)
    assert code == 0, pipeline.log()[-3000:]
    assert seconds < 30
    assert left == {}, f"role processes left after the supervisor exited: {left}"
    log = pipeline.log()
    assert "stopping every role" in log
    assert "did not stop within" not in log  # each role stopped on SIGTERM, none was killed
    assert "restarting in" not in log


def test_the_supervisor_serves_every_role_s_metrics_and_readiness(pipeline):
    """``/metrics`` of the supervisor is the union of its roles' (each sample labelled
    with its ``role``) and its own; the aggregate's counters, from the orders role, move
    with orders placed through it. ``/health/ready`` is ready when every role is, with
    each role's checks; ``/health/live`` is the supervisor's own."""
    from prometheus_client.parser import text_string_to_metric_families

    def scrape() -> dict:
        with urllib.request.urlopen(f"{pipeline.url}/metrics", timeout=15) as response:
            text = response.read().decode()
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    created = ("orderflow_events_written_total", (("event", "OrderCreated"), ("role", "orders")))
    before = scrape().get(created, 0)
    corr = f"metrics-{uuid.uuid4().hex[:8]}"
    for n in range(3):
        pipeline.place(new_order_id(f"m{n}"), "SKU-1", 1, 700 + n, corr)
    pipeline.client.flush()

    after = eventually(lambda: (s := scrape()).get(created, 0) >= before + 3 and s, 60,
                       "the orders role's OrderCreated count to move")  # fmt: skip
    for role in ROLES:
        assert after[("orderflow_role_up", (("role", role),))] == 1
        assert after[("process_resident_memory_bytes", (("role", role),))] > 0
    assert after[("process_resident_memory_bytes", (("role", "supervisor"),))] > 0

    def lag_groups() -> set[str]:  # each role's group, once it has committed offsets
        groups = {dict(labels)["group"] for name, labels in scrape()
                  if name == "orderflow_consumer_lag"}  # fmt: skip
        return groups if groups == set(pipeline.settings.role_groups) else None

    eventually(lag_groups, 60, "the lag of every role's group")

    status, body = eventually(
        lambda: (answer := http(f"{pipeline.url}/health/ready"))[0] == 200 and answer,
        60,
        "every role ready",
    )
    assert body["ready"] is True and set(body["roles"]) == set(ROLES)
    assert body["roles"]["projections"]["checks"]["redis"] == "ok"
    assert "redis" not in body["roles"]["orders"]["checks"]
    assert http(f"{pipeline.url}/health/live") == (
        200,
        {"live": True, "app": pipeline.settings.app_id},
    )
