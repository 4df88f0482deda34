"""ClickHouse: embedded chdb (nothing to start, one owner process) or a server URL.

Ownership convention shared with ``sinks/``: the process that opens a chdb directory
holds an exclusive ``fcntl.flock`` on ``<chdb dir>.owner.lock`` and writes
``{"pid": ..., "url": ...}`` into it. The CLI reads that file but never opens chdb,
because opening it would take the directory away from the worker.
"""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from streams.config.redact import redact_url
from streams.config.settings import Settings
from streams.ops.stack.errors import StackError
from streams.ops.stack.process import is_alive
from streams.ops.stack.server import ServiceStatus


def chdb_path(url: str) -> Path:
    """The directory of a ``chdb://`` URL (``chdb:///abs/dir`` and ``chdb://rel/dir``)."""
    return Path(url.removeprefix("chdb://")).expanduser()


def owner_lock_path(directory: Path) -> Path:
    """The lock file whose holder owns ``directory``."""
    return directory.with_name(directory.name + ".owner.lock")


def is_usable_dir(directory: Path) -> bool:
    """True when ``directory`` is a writable directory or could be created as one."""
    for candidate in (directory, *directory.parents):
        if candidate.exists():
            return candidate.is_dir() and os.access(candidate, os.W_OK | os.X_OK)
    return False


def _flock_holders(path: Path) -> set[int]:
    # /proc/locks shows who holds flocks without taking one: a probing lock, even a brief
    # one, could make a worker starting at that instant believe the directory is taken.
    try:
        inode = path.stat().st_ino
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return set()
    holders = set()
    for line in lines:
        fields = line.split()
        if len(fields) > 5 and fields[1] == "FLOCK" and fields[5].endswith(f":{inode}"):
            holders.add(int(fields[4]))
    return holders


def read_owner(directory: Path) -> dict | None:
    """``{"pid", "url"}`` of the live process owning ``directory``, or None."""
    lock = owner_lock_path(directory)
    try:
        owner = json.loads(lock.read_text() or "{}")
    except (OSError, ValueError):
        return None
    pid = owner.get("pid") if isinstance(owner, dict) else None
    if not isinstance(pid, int):
        return None
    holders = _flock_holders(lock)
    # Without /proc/locks the pid's liveness is the best evidence left.
    held = pid in holders if Path("/proc/locks").exists() else is_alive(pid)
    return owner if held and is_alive(pid) else None


def server_answers(url: str, timeout_s: float = 2.0) -> bool:
    """True when the ClickHouse server at ``url`` answers ``/ping`` with ``Ok.``."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    try:
        with urllib.request.urlopen(f"{parts.scheme}://{host}{port}/ping", timeout=timeout_s) as r:
            return r.read().strip() == b"Ok."
    except (OSError, ValueError):
        return False


def status(settings: Settings) -> ServiceStatus:
    """Embedded: usable directory and current owner. Server: whether it answers."""
    url = settings.clickhouse_url
    if not settings.uses_embedded_clickhouse:
        return ServiceStatus(up=server_answers(url), address=redact_url(url), managed="external")
    directory = chdb_path(url)
    owner = read_owner(directory)
    if owner:
        detail = f"open in pid {owner['pid']}" + (f" ({owner['url']})" if owner.get("url") else "")
    else:
        detail = "not open in any process"
    return ServiceStatus(
        up=is_usable_dir(directory),
        address=url,
        managed="embedded",
        pid=owner["pid"] if owner else None,
        data=str(directory),
        detail=detail,
    )


def up(settings: Settings) -> str:
    """Nothing to start; check the directory or the server and say which it is."""
    current = status(settings)
    if current.managed == "embedded":
        if not current.up:
            raise StackError(
                f"clickhouse: {current.data} cannot be created or written; change "
                "ORDERFLOW_DATA_DIR or CLICKHOUSE_URL, or run `docker compose up`"
            )
        return f"embedded chdb at {current.data}, nothing to start ({current.detail})"
    if not current.up:
        raise StackError(
            f"clickhouse: CLICKHOUSE_URL={current.address} does not answer /ping; start that "
            "server, or unset CLICKHOUSE_URL to use embedded chdb under the data dir"
        )
    return f"external server answering at {current.address}, left alone"
