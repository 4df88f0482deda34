"""Detached server processes: starting them, pid files, liveness, stopping them."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path


def read_cmdline(pid: int) -> str:
    """The command line of ``pid`` joined by spaces, or "" when it cannot be read."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


def is_alive(pid: int) -> bool:
    """True when ``pid`` exists and is not a zombie waiting to be reaped."""
    # Reap it if it is our own child (a test calling ``up`` in-process), else it lingers.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (not Linux): kill(0) is all we can know
    # The state letter follows the parenthesised command name, which may contain spaces.
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


class PidFile:
    """A pid file for one server; ``marker`` must occur in the server's command line.

    The marker guards against pid reuse: after a crash and a reboot the recorded pid may
    belong to an unrelated process, which must be neither reported nor killed.
    """

    def __init__(self, path: Path, marker: str) -> None:
        self.path = path
        self.marker = marker

    def write(self, pid: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(f"{pid}\n")

    def running_pid(self) -> int | None:
        """The pid of our live server, or None (a stale pid file is removed)."""
        try:
            pid = int(self.path.read_text().strip())
        except (OSError, ValueError):
            return None
        cmdline = read_cmdline(pid)
        if is_alive(pid) and (self.marker in cmdline or not Path("/proc").is_dir()):
            return pid
        self.remove()
        return None

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def spawn_detached(argv: Sequence[str], log_path: Path, cwd: Path) -> int:
    """Start ``argv`` in its own session with output appended to ``log_path``; its pid.

    A new session keeps the server alive after the CLI exits and keeps Ctrl-C in the
    user's terminal from reaching it.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    # Popen returns once exec has begun, but the kernel publishes the new command line a
    # moment later; PidFile checks it, so wait for it (Linux only, a few ms at most).
    if Path("/proc").is_dir():
        wait_for(lambda: bool(read_cmdline(proc.pid)) or proc.poll() is not None, 2, 0.005)
    return proc.pid


def wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass; whether it held.

    A poll, not a retry of a failing call: nothing here for tenacity to catch."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    # The server leads its own process group (start_new_session), so signalling the
    # group also reaches anything it forked.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)


def terminate(pid: int, timeout: float) -> bool:
    """SIGTERM ``pid``, wait up to ``timeout`` s, then SIGKILL; True if it stopped cleanly."""
    if not is_alive(pid):
        return True
    _signal_group(pid, signal.SIGTERM)
    if wait_for(lambda: not is_alive(pid), timeout):
        return True
    _signal_group(pid, signal.SIGKILL)
    wait_for(lambda: not is_alive(pid), 10)
    return False


@contextlib.contextmanager
def exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive flock on ``lock_path``: one ``stack up``/``down`` per data dir at a
    time, so two concurrent runs cannot both start a broker on the same data."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
