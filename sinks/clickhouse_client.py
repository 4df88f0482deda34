"""Connecting to ClickHouse: a server over HTTP, or embedded chdb owned by one process.

chdb opens one directory per process, and a directory in one process at a time. The
owner therefore holds an exclusive ``flock`` on ``<dir>.owner.lock`` for its whole life
and writes its pid and the URL it answers queries on into the file; anyone else gets
``ClickHouseBusy`` naming that owner, and can ask it over HTTP instead.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from pathlib import Path
from typing import IO

import clickhouse_connect
from clickhouse_connect.driver.client import Client

from streams.config.redact import mask_secrets, redact_url
from streams.config.settings import Settings

_HOW_TO_FIX = (
    "Set CLICKHOUSE_URL to a reachable server (http://host:8123), start the local stack "
    "with `orderflow stack up`, or run `docker compose up`."
)

_LOCK_ATTEMPTS = 5

# chdb path -> (open lock file, client): re-entrant within the process.
_owned: dict[str, tuple[IO[str], Client]] = {}
_owned_lock = threading.Lock()


class ClickHouseError(RuntimeError):
    """ClickHouse cannot be used; the message says which URL and what to do."""


class ClickHouseBusy(ClickHouseError):
    """Another process owns the embedded ClickHouse directory."""

    def __init__(self, path: str, owner: dict) -> None:
        self.path = path
        self.owner_pid = owner.get("pid")
        self.owner_url = owner.get("url")
        where = f" and answers on {self.owner_url}" if self.owner_url else ""
        super().__init__(
            f"embedded ClickHouse at {path} is owned by process {self.owner_pid}{where}; "
            "ask that process, stop it, or set CLICKHOUSE_URL to a ClickHouse server"
        )


def chdb_path(url: str) -> str:
    """The directory of a ``chdb://`` URL."""
    return url[len("chdb://") :].split("?", 1)[0]


def lock_path(path: str) -> Path:
    return Path(f"{path.rstrip('/')}.owner.lock")


def connect_clickhouse(settings: Settings, owner_url: str | None = None) -> Client:
    """A client for ``settings.clickhouse_url``.

    For ``chdb://`` this process becomes the directory's owner (``owner_url`` is where
    it will answer queries for others) or ``ClickHouseBusy`` is raised. Calling again
    for the same directory returns the same client.
    """
    url = settings.clickhouse_url
    if not url.startswith("chdb://"):
        try:
            return clickhouse_connect.get_client(dsn=url)
        except Exception as exc:
            raise ClickHouseError(
                f"cannot connect to ClickHouse at {redact_url(url)}: {mask_secrets(str(exc))}. "
                f"{_HOW_TO_FIX}"
            ) from exc
    path = chdb_path(url)
    with _owned_lock:
        if path in _owned:
            return _owned[path][1]
        if _owned:
            owner = read_owner(settings)
            if owner is not None:  # the more useful news: who to ask instead
                raise ClickHouseBusy(path, owner)
            other = next(iter(_owned))
            raise ClickHouseError(
                f"this process already owns embedded ClickHouse at {other}; chdb opens one "
                f"directory per process, so {path} must be reached through its owner"
            )
        lock_file = _take_ownership(path, owner_url)
        try:
            client = clickhouse_connect.get_client(dsn=url)
        except Exception as exc:
            lock_file.close()
            raise ClickHouseError(
                f"cannot open embedded ClickHouse at {path}: {exc}. {_HOW_TO_FIX}"
            ) from exc
        _owned[path] = (lock_file, client)
        return client


def _take_ownership(path: str, owner_url: str | None) -> IO[str]:
    lock = lock_path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    # "a" rather than "w": truncating before holding the lock would wipe the owner's note.
    handle = open(lock, "a+")  # noqa: SIM115 - stays open for the life of the process
    for attempt in range(_LOCK_ATTEMPTS):
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            # read_owner() holds a shared lock for an instant; only a lock that
            # persists means a live owner. (Five quick tries by hand: with tenacity
            # the give-up, which reads the owner's note, would still be written here.)
            if attempt == _LOCK_ATTEMPTS - 1:
                handle.seek(0)
                owner = _parse(handle.read())
                handle.close()
                raise ClickHouseBusy(path, owner or {}) from None
            time.sleep(0.02)
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps({"pid": os.getpid(), "url": owner_url}))
    handle.flush()
    return handle


def read_owner(settings: Settings) -> dict | None:
    """``{"pid": ..., "url": ...}`` of the live owner of the embedded ClickHouse
    directory, or ``None`` when it has none (or the URL is not ``chdb://``)."""
    if not settings.uses_embedded_clickhouse:
        return None
    lock = lock_path(chdb_path(settings.clickhouse_url))
    try:
        handle = open(lock)  # noqa: SIM115
    except FileNotFoundError:
        return None
    with handle:
        try:
            # flock conflicts between open files even inside one process, so this also
            # reports the calling process when it is the owner.
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _parse(handle.read()) or {"pid": None, "url": None}
        return None  # the lock was free: a file left by an owner that has exited


def _parse(text: str) -> dict | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
