"""Is Kafka there at all? One TCP connection per bootstrap address, within a few seconds.

kafka-python retries a bootstrap that is refused for its whole request timeout (30 s,
with a WARNING and an ERROR on the way) before it gives up; a command asked while the
broker is down should say so at once. A port that accepts connections is not proof of a
working broker, but a refused or silent one is proof enough that there is none.
"""

from __future__ import annotations

import socket

from streams.adapters.admin import KafkaUnavailable, unavailable_message
from streams.config.settings import Settings


def bootstrap_addresses(servers: str) -> list[tuple[str, int]]:
    """``host:port`` pairs of a bootstrap list (``a:9092,[::1]:9093``, schemes allowed)."""
    addresses = []
    for entry in servers.split(","):
        entry = entry.strip().rsplit("://", 1)[-1]
        if not entry:
            continue
        host, _, port = entry.rpartition(":")
        if not host or not port.isdigit():  # no port: kafka-python's default
            host, port = entry, "9092"
        addresses.append((host.strip("[]"), int(port)))
    return addresses


def probe_kafka(settings: Settings) -> None:
    """Return when one bootstrap address accepts a connection; raise ``KafkaUnavailable``
    (one line: the address and what to do) when none does within the connect timeout."""
    servers = settings.kafka_bootstrap_servers
    addresses = bootstrap_addresses(servers)
    each = settings.kafka_connect_timeout / max(1, len(addresses))
    problems = []
    for host, port in addresses:
        try:
            with socket.create_connection((host, port), timeout=each):
                return
        except OSError as exc:
            problems.append(f"{host}:{port}: {exc.strerror or type(exc).__name__}")
    raise KafkaUnavailable(f"{unavailable_message(servers)} ({'; '.join(problems)})")
