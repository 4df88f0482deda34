"""The topics a worker needs, created before it subscribes, whoever started it.

``orderflow worker`` creates them before it starts Faust; ``faust -A streams.app worker``
goes through Faust's own command line, which creates only the tables' changelogs, and
then subscribes to source topics that do not exist: it logs "Topic ... not found in
cluster metadata" every few seconds and consumes nothing. The app's ``Worker`` calls
``ensure_worker_topics`` on its first start, so both ways of starting it behave alike.
"""

from __future__ import annotations

import faust
from kafka.errors import KafkaError

from streams.adapters.admin import KafkaUnavailable, create_changelog_topics, create_topics
from streams.adapters.reachability import probe_kafka
from streams.config.settings import Settings


class TopicsUnavailable(RuntimeError):
    """The declared topics do not exist and cannot be created; the message says what to do."""


def changelogs(app: faust.App) -> list[tuple[str, int]]:
    """(topic, partitions) of the changelog of every table this worker has."""
    return [
        (table.changelog_topic.get_topic_name(), table.partitions or app.conf.topic_partitions)
        for table in app.tables.values()
    ]


def ensure_worker_topics(settings: Settings, app: faust.App) -> None:
    """Create the declared topics and the tables' changelogs that are missing; raise
    ``TopicsUnavailable`` (one line) when that cannot be done."""
    try:
        probe_kafka(settings)  # seconds, not kafka-python's 30 s, when Kafka is down
        create_topics(settings)
        # Before the first rebalance (see create_changelog_topics).
        create_changelog_topics(settings, changelogs(app))
    except KafkaUnavailable as exc:
        raise TopicsUnavailable(
            f"cannot create the worker's topics (`orderflow topics create`): {exc}"
        ) from None
    except KafkaError as exc:
        raise TopicsUnavailable(
            f"cannot create the topics in Kafka at {settings.kafka_bootstrap_servers} "
            f"({type(exc).__name__}: {exc}); create them with `orderflow topics create`"
        ) from None
