"""Topic administration with kafka-python: create what is declared, idempotently."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from streams.adapters.kafka_clients import KafkaUnavailable, kafka_python_config
from streams.config.settings import Settings
from streams.config.topics import ALL_TOPICS, TopicSpec

log = logging.getLogger(__name__)


__all__ = ["KafkaUnavailable", "admin_client", "create_topics", "unavailable_message"]


def unavailable_message(bootstrap: str) -> str:
    return (
        f"Kafka at {bootstrap} does not answer: run `orderflow stack up`, or set "
        "KAFKA_BOOTSTRAP_SERVERS to a running cluster, or `docker compose up -d kafka`"
    )


def admin_client(settings: Settings, timeout_ms: int = 10_000) -> KafkaAdminClient:
    try:
        return KafkaAdminClient(
            **kafka_python_config(settings),
            client_id=f"{settings.app_id}-admin",
            request_timeout_ms=timeout_ms,
        )
    except KafkaError as exc:
        raise KafkaUnavailable(unavailable_message(settings.kafka_bootstrap_servers)) from exc


@dataclass(frozen=True)
class TopicOutcome:
    topic: str
    partitions: int
    created: bool


def create_topics(
    settings: Settings, specs: Iterable[TopicSpec] = ALL_TOPICS
) -> list[TopicOutcome]:
    """Create every declared topic that does not exist yet; existing ones are left alone."""
    admin = admin_client(settings)
    try:
        existing = set(admin.list_topics())
        outcomes = []
        for spec in specs:
            name = settings.topic(spec.name)
            if name in existing:
                outcomes.append(TopicOutcome(name, spec.partitions, created=False))
                continue
            try:
                admin.create_topics(
                    [NewTopic(name, spec.partitions, 1, topic_configs=dict(spec.config))]
                )
                created = True
            except TopicAlreadyExistsError:  # another process won the race
                created = False
            log.info("topic %s: %s", name, "created" if created else "exists")
            outcomes.append(TopicOutcome(name, spec.partitions, created))
        return outcomes
    finally:
        admin.close()


def delete_namespace_topics(settings: Settings) -> list[str]:
    """Delete every topic of ``settings.namespace`` (tests clean up with this)."""
    if not settings.namespace:
        raise ValueError("refusing to delete topics without a namespace")
    admin = admin_client(settings)
    try:
        prefixes = (f"{settings.namespace}.", f"{settings.app_id}-")
        doomed = [t for t in admin.list_topics() if t.startswith(prefixes)]
        if doomed:
            admin.delete_topics(doomed)
        return doomed
    finally:
        admin.close()


def create_changelog_topics(settings: Settings, changelogs: Iterable[tuple[str, int]]) -> None:
    """Create the (compacted) changelog topics of a worker's tables, given as (full topic
    name, partitions), before the worker starts.

    Faust creates them itself at startup, but one created moments before the first
    rebalance can be missing from the consumer's metadata; the agent using that table then
    crashes with PartitionsMismatch ("changelog topic ... has 0 partitions").
    """
    admin = admin_client(settings)
    try:
        existing = set(admin.list_topics())
        for name, partitions in changelogs:
            if name in existing:
                continue
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(
                    [NewTopic(name, partitions, 1, topic_configs={"cleanup.policy": "compact"})]
                )
    finally:
        admin.close()
