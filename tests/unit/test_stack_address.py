"""Address parsing and port checks of the local stack."""

from __future__ import annotations

import socket

import pytest

from streams.ops.stack.address import (
    HostPort,
    accepts_connections,
    is_loopback,
    parse_kafka_bootstrap,
    parse_redis_url,
    port_is_free,
)
from streams.ops.stack.errors import StackError

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("servers", "expected"),
    [
        ("127.0.0.1:19092", HostPort("127.0.0.1", 19092)),
        ("localhost:9092,other:9092", HostPort("localhost", 9092)),
        ("kafka://127.0.0.1:29092", HostPort("127.0.0.1", 29092)),
        (" broker.example.com:9093 ", HostPort("broker.example.com", 9093)),
        ("[::1]:9092", HostPort("::1", 9092)),
    ],
)
def test_kafka_bootstrap_first_server(servers: str, expected: HostPort) -> None:
    assert parse_kafka_bootstrap(servers) == expected


@pytest.mark.parametrize("servers", ["127.0.0.1", "127.0.0.1:abc", ":9092"])
def test_kafka_bootstrap_malformed_names_the_variable(servers: str) -> None:
    with pytest.raises(StackError, match="KAFKA_BOOTSTRAP_SERVERS"):
        parse_kafka_bootstrap(servers)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://127.0.0.1:16379/0", HostPort("127.0.0.1", 16379)),
        ("redis://:secret@localhost/2", HostPort("localhost", 6379)),
        ("rediss://cache.example.com:6380", HostPort("cache.example.com", 6380)),
        ("unix:///run/redis.sock", None),
    ],
)
def test_redis_url(url: str, expected: HostPort | None) -> None:
    assert parse_redis_url(url) == expected


def test_redis_url_with_other_scheme_is_rejected() -> None:
    with pytest.raises(StackError, match="REDIS_URL"):
        parse_redis_url("http://127.0.0.1:6379")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("localhost", True),
     ("10.0.0.5", False), ("kafka", False), ("0.0.0.0", False)],
)  # fmt: skip
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_port_in_use_is_detected_with_a_real_listener() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        endpoint = HostPort("127.0.0.1", listener.getsockname()[1])
        assert not port_is_free(endpoint)
        assert accepts_connections(endpoint)
    assert port_is_free(endpoint)
    assert not accepts_connections(endpoint, timeout=0.5)
