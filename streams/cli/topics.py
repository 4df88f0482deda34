"""``orderflow topics``: create and list the declared topics."""

from __future__ import annotations

import click

from streams.adapters.admin import KafkaUnavailable, create_topics
from streams.cli.context import pass_settings
from streams.cli.needs import needs_kafka
from streams.cli.output import emit_json, fail, table
from streams.config.settings import Settings
from streams.config.topics import ALL_TOPICS


@click.group()
def topics() -> None:
    """Kafka topics orderflow declares (created idempotently)."""


@topics.command("create")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_settings
@needs_kafka
def create(settings: Settings, as_json: bool) -> None:
    """Create every declared topic that does not exist yet."""
    try:
        outcomes = create_topics(settings)
    except KafkaUnavailable as exc:
        fail(str(exc))
    rows = [
        {
            "topic": o.topic,
            "partitions": o.partitions,
            "status": "created" if o.created else "exists",
        }
        for o in outcomes
    ]
    if as_json:
        emit_json({"topics": rows})
    else:
        click.echo(table(rows, ["topic", "partitions", "status"]))


@topics.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_settings
def list_(settings: Settings, as_json: bool) -> None:
    """The declared topics with their partitions, retention and purpose."""
    rows = [
        {
            "topic": settings.topic(s.name),
            "partitions": s.partitions,
            "config": ",".join(f"{k}={v}" for k, v in s.config.items()),
            "purpose": s.doc,
        }
        for s in ALL_TOPICS
    ]
    if as_json:
        emit_json({"topics": rows})
    else:
        click.echo(table(rows, ["topic", "partitions", "config", "purpose"]))
