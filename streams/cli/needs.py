"""``@needs_kafka``: a command that talks to Kafka first checks that it is there."""

from __future__ import annotations

import functools
from collections.abc import Callable

import click

from streams.adapters.admin import KafkaUnavailable
from streams.adapters.reachability import probe_kafka
from streams.bootstrap import Services
from streams.cli.output import fail
from streams.config.settings import Settings


def require_kafka(settings: Settings) -> None:
    """Fail with one line unless Kafka accepts a connection (for a command that checks
    its own arguments first, then calls this before its first Kafka client)."""
    try:
        probe_kafka(settings)
    except KafkaUnavailable as exc:
        fail(str(exc))


def needs_kafka(command: Callable) -> Callable:
    """Probe Kafka before ``command`` runs: a broker that is down is one line within
    ``ORDERFLOW_KAFKA_CONNECT_TIMEOUT`` seconds, not kafka-python's 30 s of retries."""

    @functools.wraps(command)
    def checked(*args, **kwargs):
        services = click.get_current_context().find_object(Services)
        assert services is not None, "the orderflow group callback builds the services"
        require_kafka(services.settings)
        return command(*args, **kwargs)

    return checked
