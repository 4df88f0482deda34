"""The demo pipeline: a worker process, a stream of orders, read models that catch up."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import redis

from sinks import redis_queries
from streams.adapters.client import CommandClient, new_command
from streams.adapters.codec import AvroCodec
from streams.adapters.eventlog import read_all_events
from streams.config.settings import Settings
from streams.messages import Record
from streams.ops.demo_saga import FINAL, demo_worker_env, saga_outcomes
from streams.ops.readside import ReadSideError, ask_worker

SKUS = [f"SKU-{n:03d}" for n in range(1, 41)]


@dataclass
class DemoSummary:
    orders_sent: int
    orders_accepted: int
    orders_cancelled: int
    malformed_sent: int
    orders_in_redis: int
    orders_in_clickhouse: int
    seconds: float
    orders_per_second: float
    order_events: int
    events_per_second: float
    worker_log: str
    saga_outcomes: dict[str, int] = field(default_factory=dict)


def demo_orders(count: int, correlation_id: str, seed: int = 7):
    """``count`` CreateOrder commands with a few lines each, reproducible by seed."""
    rng = random.Random(seed)
    for _ in range(count):
        lines = [
            {
                "sku": rng.choice(SKUS),
                "quantity": rng.randint(1, 4),
                "unit_price_cents": rng.randint(199, 9999),
            }
            for _ in range(rng.randint(1, 3))
        ]
        yield new_command(
            Record.CREATE_ORDER,
            str(uuid.uuid4()),
            correlation_id,
            user_id=f"user-{rng.randint(1, max(2, count // 5)):04d}",
            items=lines,
            currency="EUR",
        )


class WorkerProcess:
    """``orderflow worker [ARGS]`` as a child process, stopped with SIGTERM like Ctrl-C would."""

    def __init__(
        self,
        settings: Settings,
        log_path: Path,
        env: dict | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.settings = settings
        self.log_path = log_path
        self.env = dict(os.environ if env is None else env)
        self.args = args
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        """Start the worker; refused (RuntimeError) while something answers on its HTTP
        port: ``wait_ready`` would take that process's answer for this one's, and the
        caller would report on a worker it never started."""
        occupant = answering(self.settings.web_host, self.settings.web_port)
        if occupant:
            raise RuntimeError(
                f"another process already answers on {self.settings.web_url} ({occupant}); "
                "stop it, or set ORDERFLOW_WEB_PORT to a free port for a worker of its own"
            )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it until it exits
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streams.cli.main", "worker", *self.args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=self.env,
        )

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"the worker exited early; read {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.settings.web_url}/health/", timeout=1):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        raise RuntimeError(f"the worker did not answer within {timeout:.0f}s; read {self.log_path}")

    def stop(self, timeout: float = 30) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def answering(host: str, port: int) -> str | None:
    """What answers on ``host:port``: None when nothing listens, else a few words (an
    orderflow worker names its app on ``/health/``)."""
    host = "127.0.0.1" if host in ("", "0.0.0.0") else host
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.settimeout(1.0)
        if probe.connect_ex((host, port)) != 0:
            return None
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/health/", timeout=2) as response:
            app = json.load(response).get("app")
    except (urllib.error.URLError, OSError, ValueError, AttributeError):
        return "not an orderflow worker"
    return f"the orderflow worker of app {app}" if app else "not an orderflow worker"


def clickhouse_count(settings: Settings, correlation_id: str) -> int:
    """Orders of this run in ClickHouse, asked of the worker that owns the database."""
    # Always the demo's own worker, never read_analytics(): opening embedded ClickHouse
    # here while the worker is still starting would take the directory from it.
    try:
        rows = ask_worker(settings.web_url, "count", {"correlation_id": correlation_id})
        return int(rows[0]["orders"])
    except (ReadSideError, KeyError, IndexError):
        return 0


def wait_until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.25)
    return check()


def run_demo(
    settings: Settings,
    codec: AvroCodec,
    store: redis.Redis,
    orders: int,
    timeout: float,
    progress: Callable[[int], None],
):
    """Send ``orders`` orders through a fresh worker and report what reached the read models.

    ``progress(n)`` is told how many accepted orders are done: their saga finished and the
    order in both read models (``store``: the Redis read model's client)."""
    correlation_id = f"demo-{uuid.uuid4().hex[:8]}"
    worker = WorkerProcess(
        settings,
        settings.data_dir / "logs" / "demo-worker.log",
        env=demo_worker_env(dict(os.environ)),  # declines, out-of-stock, unshippable
    )
    worker.start()  # refused first if another process answers on the demo's port
    client = CommandClient(settings, codec)
    try:
        worker.wait_ready(timeout)
        client.start_listening()
        progress(0)
        started = time.monotonic()
        commands = list(demo_orders(orders, correlation_id))
        for command in commands:
            client.send(command)
        # One malformed message shows the dead-letter path; it must not stop anything.
        client.send_raw(b"demo-malformed", b"\x00 this is not an Avro record")
        client.flush()
        results = client.wait_for_results([c["command_id"] for c in commands], timeout)
        accepted = [
            c
            for c in commands
            if (result := results.get(c["command_id"])) is not None
            and result.get("status") == "accepted"
        ]
        cancels = [
            new_command(
                Record.CANCEL_ORDER, c["order_id"], correlation_id, reason="changed my mind"
            )
            for c in accepted[::10]
        ]
        for cancel in cancels:
            client.send(cancel)
        client.flush()
        client.wait_for_results([c["command_id"] for c in cancels], timeout)
        ids = [c["order_id"] for c in accepted]

        def in_redis() -> int:
            return redis_queries.count_existing(store, settings.redis_prefix, ids)

        def done() -> bool:
            finished = sum(saga_outcomes(settings, ids, timeout=0).get(s, 0) for s in FINAL)
            progress(min(finished, in_redis()))
            return finished == len(ids) and in_redis() == len(ids)

        wait_until(done, timeout)
        wait_until(lambda: clickhouse_count(settings, correlation_id) == len(ids), timeout)
        seconds = time.monotonic() - started
        events = count_order_events(settings, codec, set(ids))
        return DemoSummary(
            orders_sent=len(commands),
            orders_accepted=len(accepted),
            orders_cancelled=len(cancels),
            malformed_sent=1,
            orders_in_redis=in_redis(),
            orders_in_clickhouse=clickhouse_count(settings, correlation_id),
            seconds=round(seconds, 2),
            orders_per_second=round(len(ids) / seconds, 1) if seconds else 0.0,
            order_events=events,
            events_per_second=round(events / seconds, 1) if seconds else 0.0,
            worker_log=str(worker.log_path),
            saga_outcomes=saga_outcomes(settings, ids, timeout),
        )
    finally:
        client.close()
        worker.stop()


def count_order_events(settings: Settings, codec: AvroCodec, order_ids: set[str]) -> int:
    """Records in ``orders.events`` that belong to ``order_ids`` (the event store, read)."""
    return sum(1 for e in read_all_events(settings, codec) if e.message["order_id"] in order_ids)


def summary_dict(summary: DemoSummary) -> dict:
    return asdict(summary)
