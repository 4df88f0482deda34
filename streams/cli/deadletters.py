"""``orderflow dead-letters``: what was parked, where it came from, and why."""

from __future__ import annotations

import click
from kafka import KafkaConsumer, TopicPartition

from streams.adapters.admin import KafkaUnavailable
from streams.adapters.eventlog import open_consumer
from streams.cli.context import pass_settings
from streams.cli.needs import needs_kafka
from streams.cli.output import emit_json, fail, table
from streams.config.settings import Settings
from streams.config.timeparse import from_millis
from streams.config.topics import DEAD_LETTERS
from streams.runtime.deadletter import (
    FAILED_AT,
    FINGERPRINT,
    REASON,
    SOURCE_OFFSET,
    SOURCE_PARTITION,
    SOURCE_TOPIC,
)


@click.group("dead-letters")
def dead_letters() -> None:
    """Messages that could not be processed, kept with the reason (never dropped)."""


def parked(consumer: KafkaConsumer, topic: str, limit: int) -> list[dict]:
    """The newest ``limit`` dead letters of ``topic`` as JSON-ready rows, oldest first."""
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
    if not partitions:
        raise KafkaUnavailable(f"topic {topic} does not exist: run `orderflow topics create`")
    consumer.assign(partitions)
    ends = consumer.end_offsets(partitions)
    for tp in partitions:
        consumer.seek(tp, max(0, ends[tp] - limit))
    rows: list[dict] = []
    idle = 0
    while any(consumer.position(tp) < ends[tp] for tp in partitions) and idle < 3:
        batches = consumer.poll(timeout_ms=300)
        idle = 0 if batches else idle + 1
        for records in batches.values():
            rows.extend(_row(r) for r in records)
    rows.sort(key=lambda r: r["parked_at"] or "")
    return rows[-limit:]


def _row(record) -> dict:
    headers = {k: v.decode(errors="replace") for k, v in (record.headers or [])}
    failed_at = headers.get(FAILED_AT)
    return {
        "parked_at": from_millis(int(failed_at)) if failed_at else None,
        "source": f"{headers.get(SOURCE_TOPIC)}[{headers.get(SOURCE_PARTITION)}]"
        f"@{headers.get(SOURCE_OFFSET)}",
        "reason": headers.get(REASON),
        "fingerprint": headers.get(FINGERPRINT),
        "key": record.key.decode(errors="replace") if record.key else None,
        "bytes": len(record.value or b""),
        "value_hex": (record.value or b"")[:32].hex(),
    }


@dead_letters.command("list")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_settings
@needs_kafka
def list_(settings: Settings, limit: int, as_json: bool) -> None:
    """The newest dead letters: when, from where, why, and the first bytes."""
    topic = settings.topic(DEAD_LETTERS.name)
    try:
        consumer = open_consumer(settings)
        try:
            rows = parked(consumer, topic, limit)
        finally:
            consumer.close()
    except KafkaUnavailable as exc:
        fail(str(exc))
    if as_json:
        emit_json({"topic": topic, "dead_letters": rows})
    elif not rows:
        click.echo(f"no dead letters on {topic}")
    else:
        click.echo(table(rows, ["parked_at", "source", "reason", "key", "bytes"]))
