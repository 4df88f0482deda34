"""The decisions ``stack up`` makes per service, with a fake server that starts nothing."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from streams.ops.stack.address import HostPort
from streams.ops.stack.errors import StackError
from streams.ops.stack.process import spawn_detached
from streams.ops.stack.server import LocalServer

pytestmark = pytest.mark.unit


class FakeServer(LocalServer):
    name = "fake"
    variable = "FAKE_URL"
    start_timeout_s = 1.0
    stop_timeout_s = 1.0

    def __init__(self, endpoint: HostPort, home: Path, answering: bool) -> None:
        super().__init__(str(endpoint), endpoint, home, "never-matches")
        self.answering = answering
        self.launched = False

    @property
    def log_path(self) -> Path:
        return self.home / "fake.log"

    def answers(self) -> bool:
        return self.answering

    def launch(self) -> int:
        self.launched = True
        raise AssertionError("must not launch")


def test_answering_service_is_left_alone(tmp_path: Path) -> None:
    server = FakeServer(HostPort("127.0.0.1", 1), tmp_path, answering=True)
    assert "external" in server.up() and not server.launched
    assert server.status().managed == "external"


def test_remote_address_that_does_not_answer_is_not_started(tmp_path: Path) -> None:
    server = FakeServer(HostPort("10.255.255.1", 9092), tmp_path, answering=False)
    with pytest.raises(StackError, match="FAKE_URL=10.255.255.1:9092 does not answer"):
        server.up()
    assert not server.launched


def test_port_taken_by_something_else_is_one_clear_message(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        server = FakeServer(HostPort("127.0.0.1", port), tmp_path, answering=False)
        with pytest.raises(StackError) as raised:
            server.up()
    message = str(raised.value)
    assert f"127.0.0.1:{port} is already in use by another program" in message
    assert "FAKE_URL" in message and "docker compose up" in message
    assert not server.launched


def test_down_without_pid_file_stops_nothing(tmp_path: Path) -> None:
    server = FakeServer(HostPort("127.0.0.1", 1), tmp_path, answering=False)
    assert server.down().startswith("not running")


class SpawningServer(FakeServer):
    """Launches a real process that never answers, to exercise the start deadline."""

    def __init__(self, home: Path, argv: list[str]) -> None:
        super().__init__(HostPort("127.0.0.1", _unused_port()), home, answering=False)
        self.pidfile.marker = "orderflow-test"
        self.argv = argv

    def launch(self) -> int:
        return spawn_detached(self.argv, self.log_path, self.home)


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_server_that_never_answers_is_stopped_and_the_log_named(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import time; time.sleep(30)", "orderflow-test"]
    server = SpawningServer(tmp_path, argv)
    with pytest.raises(StackError) as raised:
        server.up()
    message = str(raised.value)
    assert "did not answer" in message and str(tmp_path / "fake.log") in message
    assert server.pidfile.running_pid() is None and not server.pidfile.path.exists()


def test_server_that_exits_while_starting_names_the_log(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "raise SystemExit(3)", "orderflow-test"]
    server = SpawningServer(tmp_path, argv)
    with pytest.raises(StackError, match=r"exited while starting; read .*fake\.log"):
        server.up()
