"""The pipeline through a SASL/SCRAM listener, a refused password, and no secret in any output.

The fixture starts a stack of its own with ``orderflow stack up`` in a temp data dir: a
Kafka broker whose client listener is SASL_PLAINTEXT with SCRAM-SHA-256 (the SCRAM user
made at format time) and a Redis that requires an ACL user, both on ports of their own;
the session's normal stack is left alone. One broker start takes about 15 s.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
import redis

from sinks import redis_queries
from streams.ops.stack.address import HostPort, port_is_free
from tests.support import eventually, free_port, orderflow, start_worker, worker_env

pytestmark = pytest.mark.integration

MECHANISM = "SCRAM-SHA-256"


def _kafka_port() -> int:
    """A free port whose successor (the controller's) is free too."""
    fixed = os.environ.get("ORDERFLOW_TEST_SASL_KAFKA_PORT")
    if fixed:
        return int(fixed)
    for _ in range(50):
        port = free_port()
        if port < 65535 and port_is_free(HostPort("127.0.0.1", port + 1)):
            return port
    raise RuntimeError("no two free consecutive ports for the SASL broker")


@pytest.fixture(scope="module")
def sasl_stack(tmp_path_factory):
    """``(env, outputs)``: the environment of the SASL stack's clients and the captured
    output of every command run against it (the secrets test greps them)."""
    home = tmp_path_factory.mktemp("sasl-stack")
    kafka_port = _kafka_port()
    redis_port = int(os.environ.get("ORDERFLOW_TEST_SASL_REDIS_PORT") or free_port())
    env = dict(os.environ)
    env.update(
        ORDERFLOW_DATA_DIR=str(home / "data"),
        KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{kafka_port}",
        KAFKA_SECURITY_PROTOCOL="SASL_PLAINTEXT",
        KAFKA_SASL_MECHANISM=MECHANISM,
        KAFKA_SASL_USERNAME="orderflow",
        KAFKA_SASL_PASSWORD=f"kpw-{uuid.uuid4().hex}",
        REDIS_URL=f"redis://app:rpw-{uuid.uuid4().hex}@127.0.0.1:{redis_port}/0",
    )
    outputs: list[str] = []
    up = orderflow(env, "stack", "up", timeout=240)
    outputs += [up.stdout, up.stderr]
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        yield env, outputs
    finally:
        down = orderflow(env, "stack", "down", timeout=120)
        assert down.returncode == 0, down.stdout + down.stderr


def _secrets(env: dict[str, str]) -> list[str]:
    redis_password = env["REDIS_URL"].split("@")[0].rsplit(":", 1)[1]
    return [env["KAFKA_SASL_PASSWORD"], redis_password]


def test_orders_travel_through_the_sasl_listener_and_no_output_shows_a_secret(sasl_stack, tmp_path):
    stack_env, outputs = sasl_stack
    # The worker's own data dir and ClickHouse directory (worker_env's): the session's is
    # owned by the test process, and a worker refuses a busy embedded ClickHouse.
    mine = ("ORDERFLOW_DATA_DIR", "CLICKHOUSE_URL")
    env = worker_env(tmp_path, **{k: v for k, v in stack_env.items() if k not in mine})
    worker = start_worker(env, tmp_path)  # creates the topics, through SASL too
    try:
        order_ids = [f"sasl-{n}" for n in range(3)]
        for order_id in order_ids:
            done = orderflow(
                env, "orders", "create", "--user", "u1", "--item", "SKU-1:2:12.50",
                "--order-id", order_id, "--json", timeout=90,
            )  # fmt: skip
            outputs += [done.stdout, done.stderr]
            assert done.returncode == 0, done.stdout + done.stderr
            assert json.loads(done.stdout)["status"] == "accepted"

        store = redis.Redis.from_url(env["REDIS_URL"])  # the ACL user of the local Redis
        prefix = f"orderflow:{env['ORDERFLOW_NAMESPACE']}:"

        def all_in_redis():
            return all(redis_queries.get_order(store, prefix, i) for i in order_ids)

        eventually(all_in_redis, what="the orders in Redis")
        store.close()
        for args in (
            ("stack", "status"),
            ("stack", "status", "--json"),
            ("orders", "get", "sasl-0"),
        ):
            done = orderflow(env, *args)
            outputs += [done.stdout, done.stderr]
            assert done.returncode == 0, done.stdout + done.stderr
    finally:
        worker.stop()
    outputs.append(worker.log_path.read_text())
    outputs += [
        Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        for pid in _server_pids(Path(stack_env["ORDERFLOW_DATA_DIR"]))
    ]
    captured = "\n".join(outputs)
    assert "app:***@127.0.0.1" in captured  # the masked URL is there to be seen
    for secret in _secrets(env):
        assert secret not in captured


def _server_pids(data_dir: Path) -> list[int]:
    """The pids of the stack's Kafka and Redis: their command lines must hold no secret."""
    files = [data_dir / "kafka" / "kafka.pid", data_dir / "redis" / "redis.pid"]
    pids = [int(f.read_text().strip()) for f in files]
    assert len(pids) == 2
    return pids


def test_the_local_redis_refuses_the_default_user(sasl_stack):
    env, _ = sasl_stack
    anonymous = env["REDIS_URL"].replace(env["REDIS_URL"].split("@")[0] + "@", "redis://")
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis.from_url(anonymous).ping()


@pytest.mark.parametrize("command", [("topics", "create"), ("worker", "--role", "all")])
def test_a_wrong_password_is_refused_with_one_line(sasl_stack, tmp_path, command):
    env, _ = sasl_stack
    mine = ("ORDERFLOW_DATA_DIR", "CLICKHOUSE_URL")
    wrong = worker_env(tmp_path, **{k: v for k, v in env.items() if k not in mine})
    wrong["KAFKA_SASL_PASSWORD"] = f"wrong-{uuid.uuid4().hex}"
    done = orderflow(wrong, *command, timeout=90)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    [line] = lines
    assert line.startswith("error: ") and "Traceback" not in done.stderr
    assert env["KAFKA_BOOTSTRAP_SERVERS"] in line and MECHANISM in line
    assert "KAFKA_SASL_PASSWORD" in line  # says what to check
    assert wrong["KAFKA_SASL_PASSWORD"] not in done.stdout + done.stderr


def test_error_messages_about_unreachable_stores_show_no_password(tmp_path):
    closed = free_port()
    env = worker_env(
        tmp_path,
        REDIS_URL=f"redis://app:rpw-gone-{closed}@127.0.0.1:{closed}/0",
        CLICKHOUSE_URL=f"http://default:chpw-gone-{closed}@127.0.0.1:{closed}/",
    )
    outputs = []
    for args in (("orders", "get", "x"), ("stack", "status"), ("stack", "status", "--json")):
        done = orderflow(env, *args, timeout=60)
        outputs += [done.stdout, done.stderr]
    captured = "\n".join(outputs)
    assert f"redis://app:***@127.0.0.1:{closed}/0" in captured
    assert f"http://default:***@127.0.0.1:{closed}/" in captured
    assert f"rpw-gone-{closed}" not in captured and f"chpw-gone-{closed}" not in captured
