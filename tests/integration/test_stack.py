"""``orderflow stack`` end to end through the real CLI, on its own data dir and ports.

Starts a real Kafka broker and Redis server, kills the broker with SIGKILL, brings it
back with ``stack up`` and checks the data survived, then ``stack down`` leaves nothing.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from streams.ops.stack.address import HostPort, port_is_free
from streams.ops.stack.process import is_alive, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

REPO = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-c", "from streams.cli.main import main; main()"]


def _free_port(consecutive: int = 1) -> int:
    """A loopback port whose ``consecutive - 1`` successors are free too (Kafka's controller)."""
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if all(port_is_free(HostPort("127.0.0.1", port + i)) for i in range(consecutive)):
            return port
    raise RuntimeError("no free loopback ports")


def _run(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*CLI, "stack", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout
    )


def _status(env: dict[str, str]) -> dict:
    result = _run(env, "status", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _topics(bootstrap: str) -> dict[str, int]:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="test-stack")
    try:
        names = [name for name in admin.list_topics() if name.startswith("stack-test")]
        return {t["name"]: len(t["partitions"]) for t in admin.describe_topics(names)}
    finally:
        admin.close()


@pytest.fixture
def stack_env(tmp_path: Path):
    kafka_port, redis_port = _free_port(consecutive=2), _free_port()
    env = {
        **os.environ,
        "ORDERFLOW_DATA_DIR": str(tmp_path / "data"),
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{kafka_port}",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
    }
    env.pop("CLICKHOUSE_URL", None)
    yield env
    _run(env, "down")  # whatever happened above, leave no server behind


def test_up_survives_kill_9_and_down_leaves_nothing(stack_env: dict[str, str]) -> None:
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    started = time.monotonic()
    first = _run(stack_env, "up")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "redis: started" in first.stdout and "kafka: started" in first.stdout
    status = _status(stack_env)
    assert all(status[name]["up"] for name in ("kafka", "redis", "clickhouse")), status
    assert status["kafka"]["managed"] == status["redis"]["managed"] == "local"
    assert status["clickhouse"]["managed"] == "embedded"
    bootstrap = stack_env["KAFKA_BOOTSTRAP_SERVERS"]
    assert status["kafka"]["address"] == bootstrap

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="test-stack")
    admin.create_topics([NewTopic("stack-test.orders", 3, 1)])
    admin.close()
    assert _topics(bootstrap) == {"stack-test.orders": 3}

    broker, redis_pid = status["kafka"]["pid"], status["redis"]["pid"]
    os.kill(broker, signal.SIGKILL)
    assert wait_for(lambda: not is_alive(broker), 10)
    assert _status(stack_env)["kafka"]["up"] is False

    again = _run(stack_env, "up")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "kafka: started" in again.stdout and "redis: already running" in again.stdout
    assert "formatting" not in again.stdout  # the storage is formatted once only
    assert _topics(bootstrap) == {"stack-test.orders": 3}
    restarted = _status(stack_env)["kafka"]["pid"]
    assert restarted != broker

    down = _run(stack_env, "down")
    assert down.returncode == 0, down.stderr
    assert f"kafka: stopped (pid {restarted})" in down.stdout
    assert f"redis: stopped (pid {redis_pid})" in down.stdout
    assert not is_alive(restarted) and not is_alive(redis_pid)
    final = _status(stack_env)
    assert not final["kafka"]["up"] and not final["redis"]["up"]
    assert "pid" not in final["kafka"] and "pid" not in final["redis"]
    assert time.monotonic() - started < 90
