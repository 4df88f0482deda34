"""What the integration and end-to-end tests share: isolated settings, worker processes,
polling with a deadline (never a sleep as synchronisation)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from streams.adapters.kafka_clients import kafka_python_config
from streams.config.settings import Settings
from streams.ops.demo import WorkerProcess

# Workers for tests of the aggregate and the projections alone: without the saga, which
# would otherwise confirm or cancel their orders on its own.
AGGREGATE_ONLY = "orders,projections"


def orderflow(env: dict[str, str] | None, *args: str, timeout: float = 120):
    """Run ``orderflow ARGS`` in a process of its own (``env`` None: this one's)."""
    return subprocess.run(
        [sys.executable, "-m", "streams.cli.main", *args],
        env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port_block(size: int) -> int:
    """A port ``p`` with ``p .. p + size - 1`` all free: the supervisor's and its roles'."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = probe.getsockname()[1]
        if base + size > 65535:
            continue
        held = []
        try:
            for port in range(base, base + size):
                s = socket.socket()
                held.append(s)
                s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for s in held:
                s.close()
    raise RuntimeError(f"no block of {size} free ports found")


def worker_env(tmp: Path, namespace: str | None = None, **extra: str) -> dict[str, str]:
    """Environment for a worker process of its own: namespace, web port, chdb directory."""
    env = dict(os.environ)
    env.update(
        ORDERFLOW_NAMESPACE=namespace or f"t{uuid.uuid4().hex[:10]}",
        ORDERFLOW_WEB_PORT=str(free_port()),
        ORDERFLOW_DATA_DIR=str(tmp / "worker-data"),
        # A worker process owns its own embedded ClickHouse directory (one per process).
        CLICKHOUSE_URL=f"chdb://{tmp / 'worker-clickhouse'}",
    )
    if os.environ.get("CLICKHOUSE_URL", "").startswith("http"):
        env["CLICKHOUSE_URL"] = os.environ["CLICKHOUSE_URL"]
    env.update(extra)
    return env


def start_worker(
    env: dict[str, str], tmp: Path, name: str = "worker", args: tuple[str, ...] = ("--role", "all")
) -> WorkerProcess:
    """A worker process, by default every agent in one process (``--role all``); the
    supervised topology has tests of its own (tests/e2e/test_worker_roles.py)."""
    settings = Settings.from_env(env)
    worker = WorkerProcess(settings, tmp / f"{name}.log", env=env, args=args)
    worker.start()
    worker.wait_ready(timeout=90)
    return worker


def eventually(check: Callable[[], Any], timeout: float = 60, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value {last!r}")


def get_json(url: str) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.load(response)
    except (urllib.error.URLError, OSError):
        return None


def read_topic(settings: Settings, topic: str, expect: int, timeout: float = 30) -> list:
    """Every committed record of ``topic`` (all partitions), waiting for at least ``expect``."""
    consumer = KafkaConsumer(
        **kafka_python_config(settings),
        enable_auto_commit=False,
        isolation_level="read_committed",
        consumer_timeout_ms=500,
    )
    try:
        name = settings.topic(topic)
        parts = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or []]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        records: list = []
        deadline = time.monotonic() + timeout
        while len(records) < expect and time.monotonic() < deadline:
            records.extend(consumer)
        return records
    finally:
        consumer.close()
