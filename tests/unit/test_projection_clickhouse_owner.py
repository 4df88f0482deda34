"""Embedded ClickHouse has one owner process: others are told who it is; a server URL
that cannot be reached says what to do."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from sinks.clickhouse_client import (
    ClickHouseBusy,
    ClickHouseError,
    connect_clickhouse,
    lock_path,
    read_owner,
)
from streams.config.settings import Settings

pytestmark = pytest.mark.unit

HOLD_LOCK = textwrap.dedent(
    """
    import fcntl, json, os, sys
    with open(sys.argv[1], "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        f.write(json.dumps({"pid": os.getpid(), "url": "http://127.0.0.1:6066"}))
        f.flush()
        print("held", flush=True)
        sys.stdin.read()
    """
)


@pytest.fixture
def chdb_settings(tmp_path) -> Settings:
    return Settings(clickhouse_url=f"chdb://{tmp_path / 'clickhouse'}", data_dir=tmp_path)


def test_no_owner_without_a_lock_file_or_for_a_server_url(chdb_settings):
    assert read_owner(chdb_settings) is None
    assert read_owner(Settings(clickhouse_url="http://127.0.0.1:8123")) is None


def test_another_process_holding_the_directory_is_named(chdb_settings):
    lock = lock_path(chdb_settings.clickhouse_url[len("chdb://") :])
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(lock)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        assert read_owner(chdb_settings) == {"pid": holder.pid, "url": "http://127.0.0.1:6066"}
        with pytest.raises(ClickHouseBusy) as busy:
            connect_clickhouse(chdb_settings)
        assert busy.value.owner_pid == holder.pid
        assert str(holder.pid) in str(busy.value) and "http://127.0.0.1:6066" in str(busy.value)
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
    assert read_owner(chdb_settings) is None  # the file stays, but nobody holds it


def test_an_unreachable_server_names_the_url_and_the_fixes():
    url = "http://127.0.0.1:9"
    with pytest.raises(ClickHouseError) as failed:
        connect_clickhouse(Settings(clickhouse_url=url))
    message = str(failed.value)
    assert url in message and "CLICKHOUSE_URL" in message and "orderflow stack up" in message
