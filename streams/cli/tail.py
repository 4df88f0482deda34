"""``orderflow tail``: a topic's records, decoded, as they are in the log."""

from __future__ import annotations

import json

import click

from streams.adapters.admin import KafkaUnavailable
from streams.bootstrap import Services
from streams.cli.context import pass_services
from streams.cli.needs import needs_kafka
from streams.cli.output import fail
from streams.cli.params import Time
from streams.config.timeparse import TimeParseError, parse_time, to_millis
from streams.ops.tail import Where, human, tail


def _where(raw: str | None, follow: bool) -> Where:
    """``--from`` as a start; without it, the whole log, or only new records with
    ``--follow`` (as ``tail -f`` starts at the end)."""
    if raw is None:
        return Where("end" if follow else "earliest")
    try:
        when = parse_time(raw)
    except TimeParseError as exc:
        raise click.BadParameter(str(exc), param_hint="--from") from None
    return Where("earliest" if when is None else to_millis(when))


def _line(record: dict, as_json: bool) -> str:
    return json.dumps(record, sort_keys=True, default=str) if as_json else human(record)


@click.command("tail")
@click.argument("topic")
@click.option(
    "--from",
    "from_",
    default=None,
    type=Time(),
    help="Start at this time: ISO-8601 with a zone, an age such as 15m or 2h, or "
    "'earliest' (default: the beginning; with --follow, only new records).",
)
@click.option("--key", default=None, help="Only records with this key (e.g. an order id).")
@click.option("--follow", "-f", is_flag=True, help="Keep reading new records until Ctrl-C.")
@click.option("--max", "most", type=click.IntRange(min=1), default=None, help="Stop after N.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per record (JSON Lines).")
@pass_services
@needs_kafka
def tail_command(
    services: Services,
    topic: str,
    from_: str | None,
    key: str | None,
    follow: bool,
    most: int | None,
    as_json: bool,
) -> None:
    """Print the records of TOPIC decoded: schema name and writer version, key,
    partition, offset, timestamp (ISO-8601 UTC) and headers.

    TOPIC is a logical name (`orders.events`, see `orderflow topics list`), resolved in
    ORDERFLOW_NAMESPACE, or a full Kafka topic name (e.g. a table changelog). Only
    committed records are read. A value that does not decode is shown with its length,
    its first bytes in hex and the decode error.
    """
    settings = services.settings
    where = _where(from_, follow)
    codec = services.codec
    shown = 0
    try:
        for record in tail(settings, codec, topic, where, key=key, follow=follow):
            click.echo(
                json.dumps(record, sort_keys=True, default=str) if as_json else human(record)
            )
            shown += 1
            if most is not None and shown >= most:
                break
    except KafkaUnavailable as exc:
        fail(str(exc))
    if not as_json and not follow:
        click.echo(f"{shown} record(s)", err=True)
