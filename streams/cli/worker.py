"""``orderflow worker``: the Faust worker, exactly as ``faust -A streams.app worker``."""

from __future__ import annotations

import sys

import click

from streams.admin import KafkaUnavailable, create_changelog_topics, create_topics
from streams.cli.output import fail
from streams.settings import Settings


@click.command()
@click.option(
    "-l",
    "--loglevel",
    default="info",
    type=click.Choice(["crit", "error", "warn", "info", "debug"]),
    show_default=True,
)
@click.pass_obj
def worker(settings: Settings, loglevel: str) -> None:
    """Run a Faust worker with every agent (aggregate, projections).

    Creates the declared topics first when they are missing. Ctrl-C stops it cleanly:
    the current batch is flushed and offsets are committed.
    """
    try:
        create_topics(settings)
    except KafkaUnavailable as exc:
        fail(str(exc))
    from streams.app import app  # imported late: building the app reads settings and schemas

    # Table changelogs exist before the first rebalance (see create_changelog_topics).
    create_changelog_topics(
        settings,
        [
            (table.changelog_topic.get_topic_name(), table.partitions or app.conf.topic_partitions)
            for table in app.tables.values()
        ],
    )

    sys.argv = ["orderflow", "worker", "-l", loglevel, "--web-port", str(settings.web_port)]
    app.main()
