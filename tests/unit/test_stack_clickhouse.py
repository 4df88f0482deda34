"""ClickHouse status without opening chdb: directory usability and the owner lock file."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

import pytest

from streams.config.settings import Settings
from streams.ops.stack import clickhouse

pytestmark = pytest.mark.unit


def _settings(tmp_path: Path, url: str | None = None) -> Settings:
    env = {"ORDERFLOW_DATA_DIR": str(tmp_path / "data")}
    if url:
        env["CLICKHOUSE_URL"] = url
    return Settings.from_env(env)


def test_embedded_dir_that_can_be_created_is_up_and_unowned(tmp_path: Path) -> None:
    info = clickhouse.status(_settings(tmp_path)).to_dict()
    assert info["up"] is True and info["managed"] == "embedded"
    assert info["address"] == f"chdb://{tmp_path / 'data' / 'clickhouse'}"
    assert "pid" not in info
    assert not (tmp_path / "data").exists()  # status must not create anything


def test_embedded_dir_under_a_file_is_down(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("not a directory")
    assert clickhouse.status(_settings(tmp_path)).up is False


def test_owner_holding_the_lock_is_reported(tmp_path: Path) -> None:
    directory = tmp_path / "data" / "clickhouse"
    directory.mkdir(parents=True)
    lock = clickhouse.owner_lock_path(directory)
    assert lock == tmp_path / "data" / "clickhouse.owner.lock"
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        handle.write(json.dumps({"pid": os.getpid(), "url": "http://127.0.0.1:6066"}))
        handle.flush()
        info = clickhouse.status(_settings(tmp_path)).to_dict()
        assert info["pid"] == os.getpid()
        assert "http://127.0.0.1:6066" in info["detail"]
    # The lock is released and the file left behind: nobody owns the directory any more.
    assert "pid" not in clickhouse.status(_settings(tmp_path)).to_dict()


def test_server_url_that_does_not_answer_is_down(tmp_path: Path) -> None:
    info = clickhouse.status(_settings(tmp_path, "http://127.0.0.1:1")).to_dict()
    assert info == {"up": False, "address": "http://127.0.0.1:1", "managed": "external"}


def test_server_url_answering_ping_is_up(tmp_path: Path) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Ping(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
            body = b"Ok.\n" if self.path == "/ping" else b"?"
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Ping)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://user:pw@127.0.0.1:{server.server_port}"
        info = clickhouse.status(_settings(tmp_path, url)).to_dict()
        shown = f"http://user:***@127.0.0.1:{server.server_port}"  # never the password
        assert info == {"up": True, "address": shown, "managed": "external"}
        assert (
            clickhouse.up(_settings(tmp_path, url))
            == f"external server answering at {shown}, left alone"
        )
    finally:
        server.shutdown()
        server.server_close()
