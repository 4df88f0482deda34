"""Pid files, liveness and stopping of detached processes."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from streams.ops.stack.process import PidFile, is_alive, spawn_detached, terminate, wait_for

pytestmark = pytest.mark.unit

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)", "orderflow-test-sleeper"]
DEAF = [
    sys.executable,
    "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', "
    "flush=True); time.sleep(60)",
]


def test_stale_pid_file_is_removed(tmp_path: Path) -> None:
    pidfile = PidFile(tmp_path / "x.pid", "orderflow-test-sleeper")
    pid = spawn_detached(SLEEPER, tmp_path / "x.log", tmp_path)
    pidfile.write(pid)
    assert pidfile.running_pid() == pid
    os.kill(pid, 9)
    assert wait_for(lambda: not is_alive(pid), 5)
    assert pidfile.running_pid() is None
    assert not pidfile.path.exists()


def test_pid_of_an_unrelated_process_is_not_ours(tmp_path: Path) -> None:
    pidfile = PidFile(tmp_path / "x.pid", "kafka.Kafka")
    pidfile.write(os.getpid())  # alive, but its command line is pytest's
    assert pidfile.running_pid() is None


def test_terminate_stops_a_process_that_honours_sigterm(tmp_path: Path) -> None:
    pid = spawn_detached(SLEEPER, tmp_path / "x.log", tmp_path)
    assert terminate(pid, timeout=5) is True
    assert not is_alive(pid)


def test_terminate_kills_a_process_that_ignores_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "deaf.log"
    pid = spawn_detached(DEAF, log, tmp_path)
    assert wait_for(lambda: log.read_text().startswith("ready"), 10)
    assert terminate(pid, timeout=0.5) is False
    assert not is_alive(pid)
