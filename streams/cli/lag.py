"""``orderflow lag``: how far the app's consumer group is behind, per topic-partition."""

from __future__ import annotations

import click

from streams.adapters.admin import KafkaUnavailable
from streams.cli.context import pass_settings
from streams.cli.needs import needs_kafka
from streams.cli.output import emit_json, fail, table
from streams.config.settings import Settings
from streams.ops.lag import consumer_lag


@click.command()
@click.option(
    "--group",
    default=None,
    help="Consumer group (default: every group of this deployment: the single-process "
    "worker's and one per role).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_settings
@needs_kafka
def lag(settings: Settings, group: str | None, as_json: bool) -> None:
    """Committed offset, end offset and lag of the worker's consumer groups.

    The lag counts records, not transaction markers; a partition too far behind to
    count shows the offset difference as an upper bound (``<=N``; ``exact`` false in
    ``--json``)."""
    groups = [group] if group else [settings.app_id, *settings.role_groups]
    try:
        rows = [{"group": g, **p.to_dict()} for g in groups for p in consumer_lag(settings, g)]
    except KafkaUnavailable as exc:
        fail(str(exc))
    total = sum(r["lag"] for r in rows)
    if as_json:
        emit_json({"groups": groups, "total_lag": total, "partitions": rows})
    elif not rows:
        click.echo(f"{', '.join(groups)}: no offsets committed (no worker has run yet?)")
    else:
        shown = [{**r, "lag": r["lag"] if r["exact"] else f"<={r['lag']}"} for r in rows]
        click.echo(table(shown, ["group", "topic", "partition", "committed", "end", "lag"]))
        click.echo(f"total lag: {total}")
