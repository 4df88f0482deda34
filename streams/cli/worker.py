"""``orderflow worker``: the role processes under a supervisor, or one role (or all) here.

``faust -A streams.app worker`` runs every agent in one process, like ``--role all``.
"""

from __future__ import annotations

import os
import sys

import click

from streams.adapters.admin import KafkaUnavailable, create_changelog_topics, create_topics
from streams.bootstrap import Services, bootstrap
from streams.cli.context import pass_settings
from streams.cli.needs import needs_kafka
from streams.cli.output import fail
from streams.config.roles import ROLES
from streams.config.settings import Settings


@click.command()
@click.option(
    "-l",
    "--loglevel",
    default="info",
    type=click.Choice(["crit", "error", "warn", "info", "debug"]),
    show_default=True,
)
@click.option(
    "--role",
    type=click.Choice([*ROLES, "all"]),
    envvar="ORDERFLOW_ROLE",
    help="Run one role in this process (`all`: every agent in this one process). "
    "Without it, one process per role is started and supervised.",
)
@pass_settings
@needs_kafka
def worker(settings: Settings, loglevel: str, role: str | None) -> None:
    """Run the worker: the aggregate, the saga and the projections, each in a process of
    its own (both cores at work), behind one HTTP port.

    Creates the declared topics first when they are missing. SIGTERM or Ctrl-C stops it
    cleanly: each role finishes its batch, commits and leaves its group.
    """
    try:
        create_topics(settings)
    except KafkaUnavailable as exc:
        fail(str(exc))
    if role in ROLES or not settings.agents:  # ORDERFLOW_AGENTS alone: the expert's choice
        from streams.ops.consumer_groups import topology_conflict

        conflict = topology_conflict(settings, role)
        if conflict:
            fail(conflict)
    if role in (None, "projections", "all") and not settings.agents:
        owner = _embedded_clickhouse_owner(settings)
        if owner:
            fail(owner)
    if role is None and not settings.agents:
        from streams.ops.supervisor import supervise

        sys.exit(supervise(settings, loglevel))
    if role == "all":
        os.environ.pop("ORDERFLOW_ROLE", None)
    elif role is not None:
        os.environ["ORDERFLOW_ROLE"] = role
    run_faust_worker(loglevel)


def _embedded_clickhouse_owner(settings: Settings) -> str | None:
    """Why this worker must not start its projections: another live process owns the
    embedded ClickHouse directory (chdb opens a directory in one process only; a second
    projections process would crash-loop on it)."""
    from sinks.clickhouse_client import ClickHouseBusy, chdb_path, read_owner

    owner = read_owner(settings)
    if owner is None:
        return None
    return f"{ClickHouseBusy(chdb_path(settings.clickhouse_url), owner)}. {_ONE_OWNER}"


_ONE_OWNER = (
    "Run one projections process per embedded ClickHouse directory; scale out with "
    "`--role orders` and `--role saga`"
)


def _own_embedded_clickhouse(services: Services) -> None:
    """Take the embedded ClickHouse directory before the worker answers HTTP: from then on
    every reader (``orderflow analytics``, ``verify``, the tests) finds this process as its
    owner and asks it, instead of opening the directory itself in the moment before the
    projections' first write, which would lock the projections out."""
    from sinks.clickhouse_client import ClickHouseError

    try:
        services.clickhouse  # noqa: B018 - opening it takes the directory
    except ClickHouseError as exc:
        fail(f"{exc}. {_ONE_OWNER}")


def run_faust_worker(loglevel: str) -> None:
    """The Faust worker of ``streams.app`` in this process, with the settings as the
    environment now says (``--role`` has set ``ORDERFLOW_ROLE``)."""
    from streams.app import build_worker_app  # late: Faust is slow to import
    from streams.runtime.faust_fixes import UntestedFaust

    services = bootstrap(worker=True)
    settings = services.settings
    try:
        app = build_worker_app(services)
    except UntestedFaust as exc:
        fail(str(exc))

    if settings.runs("projections") and settings.uses_embedded_clickhouse:
        _own_embedded_clickhouse(services)
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
