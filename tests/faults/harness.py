"""What the fault scenarios share: role processes of one namespace on the test stack, a
steady stream of orders, and the end-of-scenario audit.

Every scenario ends the same way (``Pipeline.audit``): every command sent has an outcome,
every accepted order's saga has ended (its order has a second, final event), the log holds
no duplicate, ``orderflow verify`` (both sides, both read models) is clean, and the counts
agree: sent = outcomes = orders in the log = orders in Redis (ClickHouse is compared order
by order by ``verify``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from sinks import redis_queries
from streams.adapters.admin import create_topics, delete_namespace_topics
from streams.adapters.client import CommandClient, new_command
from streams.adapters.codec import AvroCodec
from streams.adapters.schema_store import SchemaStore
from streams.config.roles import ROLES
from streams.config.settings import Settings
from streams.ops.demo import WorkerProcess
from streams.ops.stack.process import is_alive
from tests.support import eventually, free_port, free_port_block, orderflow

CODEC = AvroCodec(SchemaStore.load())
# Participants answer after 50 ms, so sagas are in flight when a fault comes; no failure
# rules: every order's saga completes (compensations have tests of their own).
FAULT_ENV = {
    "PARTICIPANT_DELAY_MS": "50",
    "SAGA_STEP_TIMEOUT_MS": "6000",
    "SAGA_TICK_SECONDS": "0.5",
    "ORDERFLOW_COMMIT_INTERVAL": "0.2",
}


class Pipeline:
    """Role processes (``orderflow worker --role R``) sharing one namespace: any number
    of ``orders`` and ``saga`` processes, the ``projections`` process owning the embedded
    ClickHouse directory."""

    def __init__(self, tmp: Path, **extra: str) -> None:
        self.tmp = tmp
        self.env = dict(os.environ)
        self.env.update(
            ORDERFLOW_NAMESPACE=f"f{uuid.uuid4().hex[:10]}",
            ORDERFLOW_DATA_DIR=str(tmp / "data"),
            CLICKHOUSE_URL=os.environ.get("CLICKHOUSE_URL", "")
            if os.environ.get("CLICKHOUSE_URL", "").startswith("http")
            else f"chdb://{tmp / 'clickhouse'}",
            **FAULT_ENV,
            **extra,
        )
        for name in ("ORDERFLOW_AGENTS", "ORDERFLOW_ROLE"):  # the processes say their roles
            self.env.pop(name, None)
        self.settings = Settings.from_env(self.env)
        create_topics(self.settings)
        self.processes: dict[str, WorkerProcess] = {}
        self._started = 0

    def start(self, name: str, role: str | None, wait: bool = True) -> WorkerProcess:
        """``orderflow worker --role ROLE`` as ``name`` (its own web port and data dir);
        ``role`` None: ``orderflow worker``, the supervisor of one process per role, which
        starts a role again when it dies."""
        self._started += 1
        port = free_port() if role else free_port_block(1 + len(ROLES))
        env = dict(
            self.env,
            ORDERFLOW_WEB_PORT=str(port),
            ORDERFLOW_DATA_DIR=str(self.tmp / f"data-{name}"),
        )
        log = self.tmp / f"{name}-{self._started}.log"
        args = ("--role", role) if role else ()
        process = WorkerProcess(Settings.from_env(env), log, env=env, args=args)
        process.start()
        self.processes[name] = process
        if wait:
            process.wait_ready(timeout=120)
        return process

    def kill9(self, *names: str) -> None:
        for name in names:
            self.processes[name].proc.send_signal(signal.SIGKILL)
        for name in names:
            self.processes[name].proc.wait()

    def terminate(self, name: str, timeout: float = 60) -> tuple[float, int]:
        """SIGTERM ``name``: (seconds until it exited, its exit code); killed after
        ``timeout`` (then the code says so)."""
        proc = self.processes[name].proc
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
        return time.monotonic() - started, code

    def alive(self) -> dict[str, bool]:
        return {name: p.proc.poll() is None for name, p in self.processes.items()}

    def close(self) -> None:
        for process in self.processes.values():
            process.stop(timeout=30)
        delete_namespace_topics(self.settings)

    def logs(self) -> str:
        return "\n".join(str(p) for p in sorted(self.tmp.glob("*.log")))


def stack(*args: str) -> str:
    """``orderflow stack ARGS`` on the stack the tests run on (this process's environment,
    not a pipeline's: the stack's pid files live under its own data dir)."""
    out = orderflow(None, "stack", *args, timeout=180)
    if out.returncode != 0:
        raise AssertionError(f"orderflow stack {' '.join(args)} failed: {out.stderr[-2000:]}")
    return out.stdout


def service_pid(name: str) -> int:
    """The pid of the local ``kafka`` or ``redis`` server ``stack up`` started."""
    status = json.loads(stack("status", "--json"))[name]
    if status.get("managed") != "local" or not status.get("pid"):
        raise AssertionError(f"{name} is not a local server of this stack: {status}")
    return int(status["pid"])


def kill_service(name: str, sig: int = signal.SIGKILL) -> None:
    pid = service_pid(name)
    os.kill(pid, sig)
    eventually(lambda: not is_alive(pid), 60, f"{name} (pid {pid}) gone")


@dataclass
class Load:
    """Orders sent at ``rate`` per second from a thread until ``stop`` (or ``count``)."""

    settings: Settings
    rate: float
    count: int
    sent: list[str] = field(default_factory=list)  # command ids
    deliveries: dict[str, Any] = field(default_factory=dict)  # command id -> send future
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Load:
        self.client = CommandClient(self.settings, CODEC)
        self.client.start_listening()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        for n in range(self.count):
            if self._stop.is_set():
                break
            order_id = f"fault-{uuid.uuid4().hex[:12]}"
            line = {"sku": f"SKU-{n % 7}", "quantity": 1 + n % 3, "unit_price_cents": 1_000 + n}
            command = new_command(
                "CreateOrder", order_id, "corr-fault", user_id=f"u{n % 11}", items=[line],
                currency="EUR",
            )  # fmt: skip
            self.deliveries[command["command_id"]] = self.client.send(command)
            self.sent.append(command["command_id"])
            if n % 10 == 9:
                self.client.flush()
            time.sleep(1 / self.rate)
        self.client.flush()

    def wait_sent(self, at_least: int, timeout: float = 120) -> None:
        eventually(lambda: len(self.sent) >= at_least, timeout, f"{at_least} orders sent")

    def finish(self, timeout: float = 300) -> dict:
        """Wait for the last send, then for an outcome of every command: {id: result}."""
        self._thread.join(timeout)
        results = self.client.wait_for_results(self.sent, timeout)
        self.client.close()
        return results

    def landed(self, command_id: str) -> str:
        """Where the command was written (``orders.commands`` partition@offset), or why not:
        tells a command the pipeline lost from one the client never delivered."""
        try:
            meta = self.deliveries[command_id].get(timeout=10)
        except Exception as exc:  # noqa: BLE001 - any failure is the answer
            return f"never delivered: {exc!r}"
        return f"partition {meta.partition} offset {meta.offset}"


@dataclass
class Audit:
    sent: int
    outcomes: int
    accepted: int
    log_orders: int
    log_events: int
    duplicates: int
    redis_orders: int
    verify: dict
    without_outcome: dict[str, str] = field(default_factory=dict)  # command id -> where
    dead_letters: list[dict] = field(default_factory=list)  # (source, reason, key) of each
    logs: str = ""


def audit(pipeline: Pipeline, load: Load, timeout: float = 300) -> Audit:
    """The end of every scenario: wait until every saga has ended, then count and verify."""
    results = load.finish(timeout)
    accepted = sum(1 for r in results.values() if r["status"] == "accepted")
    env = pipeline.env

    def verified() -> dict | bool:
        out = orderflow(env, "verify", "--json", timeout=180)
        report = json.loads(out.stdout)
        # Each accepted order: OrderCreated, then its saga's OrderConfirmed/OrderCancelled.
        return report if report["log"]["events"] >= 2 * accepted and not report["drift"] else False

    try:
        report = eventually(verified, timeout, "every saga ended and verify clean")
    except AssertionError:
        out = orderflow(env, "verify", "--json", timeout=180)
        raise AssertionError(f"{out.stdout[-3000:]}\nlogs: {pipeline.logs()}") from None
    store = redis.Redis.from_url(pipeline.settings.redis_url)
    return Audit(
        sent=len(load.sent),
        outcomes=len(results),
        accepted=accepted,
        log_orders=report["log"]["orders"],
        log_events=report["log"]["events"],
        duplicates=report["log"]["duplicates_skipped"],
        redis_orders=redis_queries.count_orders(store, pipeline.settings.redis_prefix),
        verify=report,
        without_outcome={c: load.landed(c) for c in load.sent if c not in results},
        dead_letters=dead_letters(env),
        logs=pipeline.logs(),
    )


def dead_letters(env: dict[str, str]) -> list[dict]:
    """What the pipeline parked (a valid load parks nothing): source, reason and key."""
    out = orderflow(env, "dead-letters", "list", "--json", "--limit", "50", timeout=120)
    rows = json.loads(out.stdout)["dead_letters"]
    return [{k: row[k] for k in ("source", "reason", "key")} for row in rows]


def assert_nothing_lost(result: Audit) -> None:
    assert result.dead_letters == [], result
    assert result.outcomes == result.sent, result
    assert result.accepted == result.sent, result  # every order in the load is valid
    assert result.log_orders == result.sent == result.redis_orders, result
    assert result.log_events == 2 * result.sent, result  # created + confirmed/cancelled
    assert result.duplicates == 0, result
    assert result.verify["drift"] == 0, result
