"""The composition root: the one place a process builds what it runs on, from its settings.

``bootstrap(settings)`` returns ``Services``: the Avro codec (Confluent framing with the
schema registry when ``SCHEMA_REGISTRY_URL`` is set), the Redis client, the ClickHouse
client, the read models' writers, the command client and the clock. Each is built once
per process, the first time it is asked for, so a command that reads only Redis never
loads the schemas and ``orderflow --help`` opens no connection. Nothing here runs at
import.

Who uses it: the worker's Faust app is composed from it (``streams.app.build_worker_app``);
the CLI keeps it in click's context (``streams.cli.main``); the HTTP views and the health
checks get their clients from it; replay and the benches are handed what they need.

A worker owns the embedded ClickHouse (chdb) directory: ``bootstrap(settings,
worker=True)`` makes its ClickHouse client take ownership and publish the worker's URL, so
other processes ask it (``sinks.clickhouse_client``). Every other process only reads.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from redis import Redis

from sinks.clickhouse_client import connect_clickhouse
from sinks.clickhouse_sink import ClickHouseSink
from sinks.redis_sink import RedisSink
from streams.adapters.codec import AvroCodec
from streams.adapters.schema_registry import registry_codec
from streams.config.clock import now_ms
from streams.config.settings import Settings

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

    from streams.adapters.client import CommandClient


class Services:
    """What a process runs on, built lazily from ``settings`` and then shared."""

    def __init__(
        self, settings: Settings, *, worker: bool = False, clock: Callable[[], int] = now_ms
    ) -> None:
        self.settings = settings
        self.worker = worker
        self.clock = clock

    @functools.cached_property
    def codec(self) -> AvroCodec:
        """The Avro codec: every schema in ``schemas/``, and the registry's ids if set."""
        return registry_codec(self.settings)

    @functools.cached_property
    def redis(self) -> Redis:
        """The process's Redis client (a connection pool, safe to share between threads)."""
        return self.new_redis()

    def new_redis(self, timeout: float | None = None) -> Redis:
        """A Redis client of its own: for a writer that closes it when it stops, or a
        health probe whose connects and reads give up after ``timeout`` seconds."""
        if timeout is None:  # redis-py's own timeouts
            return Redis.from_url(self.settings.redis_url)
        return Redis.from_url(
            self.settings.redis_url, socket_connect_timeout=timeout, socket_timeout=timeout
        )

    @functools.cached_property
    def clickhouse(self) -> Client:
        """The ClickHouse client: a server's, or the embedded chdb directory's (a worker
        takes ownership of it and publishes its URL; raises ``ClickHouseBusy`` in another
        process while a worker owns it)."""
        return self.new_clickhouse()

    def new_clickhouse(self) -> Client:
        """A ClickHouse client of its own (for a thread that must not share one); with
        chdb, the process's one client (``connect_clickhouse`` keeps it)."""
        owner_url = self.settings.web_url if self.worker else None
        return connect_clickhouse(self.settings, owner_url=owner_url)

    def sink_factories(self) -> list[Callable[[], RedisSink | ClickHouseSink]]:
        """The read models' writers, Redis then ClickHouse, each built when called (the
        projection agent builds them in a thread as it starts, since a store that is not up
        yet blocks), each with a client of its own that it closes when it stops."""
        prefix, database = self.settings.redis_prefix, self.settings.clickhouse_database
        return [
            lambda: RedisSink(self.new_redis(), prefix),
            lambda: ClickHouseSink(self.new_clickhouse(), database),
        ]

    def command_client(self) -> CommandClient:
        """A client that sends commands and waits for their outcomes (its own producer
        and consumer: the caller closes it)."""
        from streams.adapters.client import CommandClient

        return CommandClient(self.settings, self.codec)

    def close(self) -> None:
        """Close the clients built so far (the ones never asked for were never opened)."""
        if "redis" in self.__dict__:
            self.redis.close()


def bootstrap(
    settings: Settings | None = None, *, worker: bool = False, clock: Callable[[], int] = now_ms
) -> Services:
    """The services of this process; ``settings`` default to the environment's."""
    return Services(settings or Settings.from_env(), worker=worker, clock=clock)
