"""``orderflow stack`` through click: exit codes, JSON shape, error lines without tracebacks."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from streams.cli.main import cli
from streams.cli.stack import stack

pytestmark = pytest.mark.unit

cli.add_command(stack)


@pytest.fixture
def squatters() -> Iterator[tuple[int, int]]:
    """Two listening sockets that are neither Kafka nor Redis."""
    socks = [socket.socket(), socket.socket()]
    for sock in socks:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
    yield tuple(sock.getsockname()[1] for sock in socks)
    for sock in socks:
        sock.close()


def _env(tmp_path: Path, kafka_port: int, redis_port: int) -> dict[str, str]:
    return {
        "ORDERFLOW_DATA_DIR": str(tmp_path / "data"),
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{kafka_port}",
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "CLICKHOUSE_URL": "",
    }


def test_status_json_of_a_stopped_stack_exits_zero(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["stack", "status", "--json"], env=_env(tmp_path, 1, 2))
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report) == {"kafka", "redis", "clickhouse"}
    assert report["kafka"]["up"] is False and report["kafka"]["address"] == "127.0.0.1:1"
    assert report["redis"]["managed"] == "local"
    assert report["clickhouse"]["up"] is True


def test_up_with_ports_taken_fails_with_error_lines(
    tmp_path: Path, squatters: tuple[int, int]
) -> None:
    kafka_port, redis_port = squatters
    result = CliRunner().invoke(cli, ["stack", "up"], env=_env(tmp_path, kafka_port, redis_port))
    assert result.exit_code == 1
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2
    assert f"127.0.0.1:{redis_port} is already in use" in errors[0]
    assert f"127.0.0.1:{kafka_port} is already in use" in errors[1]
    assert "Traceback" not in result.output
    assert "clickhouse: embedded chdb" in result.output
