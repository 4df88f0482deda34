"""A schema registry that replays answers recorded from a real one.

``recorded_registry.json`` holds requests made to Apicurio Registry 2.4.2.Final (the one
``orderflow stack up --registry`` runs, Confluent API under ``/apis/ccompat/v7``) after
``orderflow schemas register``, with its answers byte for byte. This server answers the
same requests the same way over real HTTP, so the client, its error handling and the
codec above it run as they do against the registry; a request that was not recorded
gets a 500, which fails the test that made it. The interop test
(tests/integration/test_confluent_interop.py) runs against the live registry.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

RECORDING = Path(__file__).with_name("recorded_registry.json")


class RecordedRegistry:
    """The recorded exchanges, and how often each request came."""

    def __init__(self) -> None:
        recording = json.loads(RECORDING.read_text())
        self.base_path = recording["base_path"]
        self.exchanges: dict[tuple[str, str, str], tuple[int, Any]] = {}
        for e in recording["exchanges"]:
            key = (e["method"], self.base_path + e["path"], _body_key(e["request"]))
            self.exchanges[key] = (e["status"], e["response"])
        self.requests: Counter[tuple[str, str]] = Counter()
        self.url = ""

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        self.requests[(method, path)] += 1
        request = json.loads(body) if body else None
        found = self.exchanges.get((method, path, _body_key(request)))
        return found or (500, {"error_code": 50001, "message": f"not recorded: {method} {path}"})


def _body_key(body: Any) -> str:
    return json.dumps(body, sort_keys=True)


@contextmanager
def recorded_registry() -> Iterator[RecordedRegistry]:
    """A :class:`RecordedRegistry` serving on a free loopback port (``.url`` is the
    Confluent API's base URL, as SCHEMA_REGISTRY_URL would be)."""
    registry = RecordedRegistry()

    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            status, body = registry.answer(self.command, self.path, self.rfile.read(length))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = _reply

        def log_message(self, *args: Any) -> None:  # quiet: pytest shows failures itself
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    registry.url = f"http://127.0.0.1:{server.server_address[1]}{registry.base_path}"
    try:
        yield registry
    finally:
        server.shutdown()
        server.server_close()
