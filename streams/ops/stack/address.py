"""Parse the service addresses in ``Settings`` into the host and port a local server needs."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from streams.ops.stack.errors import StackError


@dataclass(frozen=True)
class HostPort:
    """One TCP endpoint."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def is_loopback(self) -> bool:
        """True when a server for this address would run on this machine's loopback."""
        return is_loopback(self.host)


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback IPs; other names are someone else's server."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_kafka_bootstrap(servers: str) -> HostPort:
    """The first ``host:port`` of a KAFKA_BOOTSTRAP_SERVERS list (``kafka://`` allowed)."""
    first = servers.split(",")[0].strip()
    if "://" in first:
        first = first.split("://", 1)[1]
    host, sep, port = first.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise StackError(f"KAFKA_BOOTSTRAP_SERVERS must look like host:port, got {servers!r}")
    return HostPort(host.strip("[]"), int(port))


def parse_redis_url(url: str) -> HostPort | None:
    """Host and port of a ``redis://`` URL; None for unix sockets, which are never ours."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return None
    if parts.scheme not in ("redis", "rediss"):
        raise StackError(f"REDIS_URL must start with redis://, rediss:// or unix://, got {url!r}")
    try:
        port = parts.port or 6379
    except ValueError:
        raise StackError(f"REDIS_URL has an invalid port: {url!r}") from None
    return HostPort(parts.hostname or "localhost", port)


def port_is_free(endpoint: HostPort) -> bool:
    """True when a server could listen on ``endpoint`` now.

    Binds with SO_REUSEADDR like Kafka and Redis do, so sockets in TIME_WAIT from a
    server that just stopped do not count as "in use", while any listener does.
    """
    family = socket.AF_INET6 if ":" in endpoint.host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((endpoint.host, endpoint.port))
        except OSError:
            return False
    return True


def accepts_connections(endpoint: HostPort, timeout: float = 1.0) -> bool:
    """True when something accepts TCP connections on ``endpoint``."""
    try:
        with socket.create_connection((endpoint.host, endpoint.port), timeout=timeout):
            return True
    except OSError:
        return False
