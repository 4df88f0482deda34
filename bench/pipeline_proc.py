"""The worker under test as a process tree, measured from outside through ``/proc``.

``orderflow worker`` may run its agents itself or supervise role processes; nothing here
depends on which: CPU and RSS are summed over the started process and every descendant
(found by parent pid in ``/proc/*/stat``), and the argv is the caller's.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
PROBLEM = re.compile(r"\[(WARNING|ERROR|CRITICAL)\]|Traceback|Error:")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone
        return None
    return raw[raw.rindex(")") + 2 :].split()  # fields from 3 (state) on


def tree_pids(root: int) -> list[int]:
    """``root`` and its live descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if Path(f"/proc/{pid}").exists():
            found.append(pid)
            todo.extend(children.get(pid, []))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime (+ those of reaped children: cutime, cstime) summed over ``pids``."""
    total = 0
    for pid in pids:
        if (fields := _stat_fields(pid)) is not None:
            total += sum(int(v) for v in fields[11:15])
    return total / TICKS


def _label(pid: int, root: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return f"pid {pid}"
    if "--role" in argv[:-1]:
        return f"role {argv[argv.index('--role') + 1]}"
    return "worker" if pid == root else f"child {pid}"


def cpu_by_process(root: int) -> dict[int, tuple[str, float]]:
    """Per live process of the tree: a label (``role <name>`` from a ``--role`` argument,
    ``worker`` for the root) and its CPU seconds (reaped children's included)."""
    out = {}
    for pid in tree_pids(root):
        if (fields := _stat_fields(pid)) is not None:
            out[pid] = (_label(pid, root), sum(int(v) for v in fields[11:15]) / TICKS)
    return out


def cpu_delta(before: dict, after: dict) -> dict[str, float]:
    """CPU seconds by label between two ``cpu_by_process`` snapshots (a process that is
    new in ``after`` counts from zero)."""
    out: dict[str, float] = {}
    for pid, (label, cpu) in after.items():
        out[label] = round(out.get(label, 0.0) + cpu - before.get(pid, (label, 0.0))[1], 2)
    return out


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


def log_problems(path: Path) -> list[str]:
    """Warning, error and traceback lines of a log."""
    if not path.exists():
        return []
    return [ln for ln in path.read_text(errors="replace").splitlines() if PROBLEM.search(ln)]


class WorkerTree:
    """A worker command run as its own session, its log in ``log_path``."""

    def __init__(self, argv: list[str], env: dict[str, str], log_path: Path, web_url: str):
        self.argv, self.env, self.log_path, self.web_url = argv, env, log_path, web_url
        self.proc: subprocess.Popen | None = None
        self.spawned = 0.0

    def health(self) -> dict | None:
        """The JSON of ``/health/``, or None when nothing answers."""
        try:
            with urllib.request.urlopen(f"{self.web_url}/health/", timeout=1) as response:
                return json.load(response)
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def start(self) -> None:
        if self.health() is not None:
            raise RuntimeError(f"something already answers on {self.web_url}; pick another port")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.spawned = time.perf_counter()
            # A session of its own: a hung tree can be killed as a group, and a Ctrl-C
            # at the bench's terminal reaches the bench (which stops the worker) only.
            self.proc = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def pids(self) -> list[int]:
        return tree_pids(self.proc.pid) if self.alive() else []

    def cpu(self) -> float:
        return cpu_seconds(self.pids())

    def cpu_by_process(self) -> dict[int, tuple[str, float]]:
        return cpu_by_process(self.proc.pid) if self.alive() else {}

    def rss(self) -> int:
        return rss_bytes(self.pids())

    def stop(self, timeout: float = 60) -> dict:
        """SIGTERM to the started process (as a supervisor would get it); how long the
        tree took to exit, and whether anything had to be killed."""
        if not self.alive():
            code = None if self.proc is None else self.proc.returncode
            return {"how": f"had already exited ({code})", "seconds": 0.0, "left_over": []}
        tree = self.pids()
        started = time.perf_counter()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
            how = f"SIGTERM, exit {code}"
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            how = f"HUNG: killed after {timeout:.0f} s"
        left = [p for p in tree if p != self.proc.pid and (_stat_fields(p) or ["Z"])[0] != "Z"]
        seconds = time.perf_counter() - started
        for pid in left:  # descendants that outlived the worker: ours, so ours to end
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return {"how": how, "seconds": round(seconds, 2), "left_over": left}
