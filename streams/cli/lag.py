"""``orderflow lag``: how far the app's consumer group is behind, per topic-partition."""

from __future__ import annotations

import click

from streams.admin import KafkaUnavailable
from streams.cli.output import emit_json, fail, table
from streams.lag import consumer_lag
from streams.settings import Settings


@click.command()
@click.option("--group", default=None, help="Consumer group (default: the app id).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def lag(settings: Settings, group: str | None, as_json: bool) -> None:
    """Committed offset, end offset and lag of the app's consumer group."""
    group = group or settings.app_id
    try:
        rows = [p.to_dict() for p in consumer_lag(settings, group)]
    except KafkaUnavailable as exc:
        fail(str(exc))
    total = sum(r["lag"] for r in rows)
    if as_json:
        emit_json({"group": group, "total_lag": total, "partitions": rows})
    elif not rows:
        click.echo(f"group {group} has committed no offsets (no worker has run yet?)")
    else:
        click.echo(table(rows, ["topic", "partition", "committed", "end", "lag"]))
        click.echo(f"total lag: {total}")
