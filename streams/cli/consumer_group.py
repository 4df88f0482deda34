"""``orderflow consumer-group reset``: move a consumer group's offsets to a time."""

from __future__ import annotations

import click

from streams.adapters.admin import KafkaUnavailable
from streams.cli.context import pass_settings
from streams.cli.needs import require_kafka
from streams.cli.output import emit_json, fail, table, usage
from streams.config.settings import Settings
from streams.config.timeparse import TimeParseError, parse_time, to_millis
from streams.ops.consumer_groups import GroupBusy, NothingToReset, plan_reset, reset_group

COLUMNS = ("topic", "partition", "current_offset", "new_offset")


@click.group("consumer-group")
def consumer_group() -> None:
    """Consumer-group offsets (like Kafka's kafka-consumer-groups tool)."""


@consumer_group.command()
@click.option("--group", required=True, help="The consumer group id.")
@click.option("--to-datetime", "to_datetime", required=True, help="ISO-8601 with zone or an age.")
@click.option("--dry-run", is_flag=True, help="Show the new offsets; commit nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_settings
def reset(settings: Settings, group: str, to_datetime: str, dry_run: bool, as_json: bool) -> None:
    """Commit, for GROUP, the first offset at or after the time in every partition it
    has offsets for (the end offset where no record is that recent). Read models are
    left alone: `orderflow replay` is what rebuilds them. Refused while the group has
    active members."""
    try:
        when = parse_time(to_datetime)
    except TimeParseError as exc:
        usage(str(exc), "--to-datetime")
    if when is None:
        usage("needs a time; 'earliest' is not one", "--to-datetime")
    require_kafka(settings)
    try:
        moves = plan_reset(settings, group, to_millis(when))
        if not dry_run:
            reset_group(settings, group, moves)
    except (GroupBusy, NothingToReset, KafkaUnavailable) as exc:
        fail(str(exc))
    rows = [m.to_dict() for m in moves]
    if as_json:
        emit_json({"group": group, "dry_run": dry_run, "partitions": rows})
        return
    click.echo(table(rows, COLUMNS))
    click.echo(("would reset" if dry_run else "reset") + f" {group} ({len(rows)} partitions)")
