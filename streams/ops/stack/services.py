"""``stack up``, ``down`` and ``status`` across Kafka, Redis, ClickHouse and, when asked for,
the schema registry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from streams.config.settings import Settings
from streams.ops.stack import clickhouse
from streams.ops.stack.errors import StackError
from streams.ops.stack.kafka import LocalKafka
from streams.ops.stack.process import exclusive
from streams.ops.stack.redis import LocalRedis
from streams.ops.stack.registry import LocalRegistry
from streams.ops.stack.server import LocalServer

Echo = Callable[[str], None]


def _servers(settings: Settings, echo: Echo, registry: bool = False) -> list[LocalServer]:
    # Redis first: it is up in a fraction of a second while Kafka takes several.
    servers: list[LocalServer] = [LocalRedis(settings, echo), LocalKafka(settings, echo)]
    if registry:
        servers.append(LocalRegistry(settings, echo))
    return servers


def wants_registry(settings: Settings) -> bool:
    """Whether the registry is part of the stack without being asked for: when the
    settings name one (the pipeline then needs it) or a local one is running."""
    return bool(settings.schema_registry_url) or (
        LocalRegistry(settings).pidfile.running_pid() is not None
    )


def _lock_path(settings: Settings) -> Path:
    return settings.data_dir / "stack.lock"


def up(settings: Settings, echo: Echo = print, registry: bool = False) -> None:
    """Bring every service up, printing one line per service through ``echo``; the schema
    registry too with ``registry`` or when ``SCHEMA_REGISTRY_URL`` is set.

    A failing service does not stop the others (a user may point KAFKA_BOOTSTRAP_SERVERS
    elsewhere and still want the local Redis); raises ``StackError`` with one line per
    failure at the end.
    """
    failures: list[str] = []
    steps: list[tuple[str, Callable[[], str]]] = [
        (server.name, server.up)
        for server in _servers(settings, echo, registry or wants_registry(settings))
    ]
    steps.append(("clickhouse", lambda: clickhouse.up(settings)))
    with exclusive(_lock_path(settings)):
        for name, step in steps:
            try:
                echo(f"{name}: {step()}")
            except StackError as exc:
                failures.append(str(exc))
    if failures:
        raise StackError("\n".join(failures))


def down(settings: Settings, echo: Echo = print) -> None:
    """Stop the servers orderflow started; external and embedded services are left alone."""
    with exclusive(_lock_path(settings)):
        for server in reversed(_servers(settings, echo, registry=True)):
            echo(f"{server.name}: {server.down()}")
    echo("clickhouse: embedded or external, nothing to stop")


def status(settings: Settings) -> dict[str, dict[str, Any]]:
    """``{"kafka": {...}, "redis": {...}, "clickhouse": {...}}`` and ``"registry"`` when
    it is part of the stack, each with ``up`` and ``address`` plus ``managed``, ``pid``,
    ``log`` where known."""
    servers = {server.name: server for server in _servers(settings, print, True)}
    report = {
        "kafka": servers["kafka"].status().to_dict(),
        "redis": servers["redis"].status().to_dict(),
        "clickhouse": clickhouse.status(settings).to_dict(),
    }
    if wants_registry(settings):
        report["registry"] = servers["registry"].status().to_dict()
    return report
