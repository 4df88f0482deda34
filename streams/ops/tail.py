"""Reading any topic as a person reads it: decoded records with where they sit in the log.

``orderflow tail`` is the pipeline's ``kafka-console-consumer``: Avro values decoded with
the schema store (the name and the version that wrote them), Faust's JSON (table
changelogs) parsed, and anything else shown as what it is: its length, its first bytes
in hex and why it did not decode. A bad record is a line of output, never a crash: the
dead-letter topic is full of them by design.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from streams.adapters.admin import KafkaUnavailable
from streams.adapters.codec import (
    CONFLUENT_HEADER_LEN,
    MARKER,
    AvroCodec,
    DecodeError,
    is_confluent_framed,
)
from streams.adapters.eventlog import open_consumer, records_until
from streams.config.settings import Settings
from streams.config.timeparse import from_millis
from streams.config.topics import ALL_TOPICS

HEX_BYTES = 64  # of an undecodable value: enough to recognise it, not a wall of hex
POLL_MS = 500


class TopicMissing(KafkaUnavailable):
    """The topic does not exist (yet)."""


def resolve_topic(settings: Settings, name: str, existing: set[str]) -> str:
    """The Kafka topic for ``name``: a logical name (``orders.events``) gets the
    namespace, a full name (a changelog, another namespace's topic) is taken as it is."""
    logical = {spec.name for spec in ALL_TOPICS}
    for topic in (settings.topic(name), name) if name in logical else (name, settings.topic(name)):
        if topic in existing:
            return topic
    raise TopicMissing(
        f"topic {name!r} does not exist"
        + (f" (as {settings.topic(name)})" if settings.namespace else "")
        + ": run `orderflow topics create`, or see `orderflow topics list`"
    )


@dataclass(frozen=True)
class Where:
    """Where tail starts: ``earliest``, ``end`` (only new records) or a time in epoch ms."""

    start: str | int


def text_or_hex(raw: bytes | None) -> str | None:
    """Bytes as text when they are printable UTF-8, else ``0x`` and hex."""
    if raw is None:
        return None
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        return "0x" + raw.hex()
    return text if text.isprintable() else "0x" + raw.hex()


def decode_value(codec: AvroCodec, raw: bytes | None) -> dict[str, Any]:
    """``schema``/``version``/``value`` of an Avro value, ``encoding: json`` and the
    value for JSON (Faust's table changelogs), or ``error`` with length and hex."""
    if raw is None:
        return {"value": None, "tombstone": True}
    try:
        message = codec.decode(raw)
    except DecodeError as exc:
        if raw[:2] != MARKER and not is_confluent_framed(raw):
            try:
                return {"encoding": "json", "value": json.loads(raw)}
            except ValueError:
                pass
        return {"error": str(exc), "length": len(raw), "hex": raw[:HEX_BYTES].hex()}
    writer = codec.writer(raw)
    decoded = {
        "encoding": "avro",
        "schema": message.name,
        "version": writer.version if writer else None,
        "value": message.body,
    }
    if is_confluent_framed(raw):  # Confluent's wire format: the registry's id too
        decoded["schema_id"] = int.from_bytes(raw[1:CONFLUENT_HEADER_LEN], "big")
    return decoded


def describe(record, codec: AvroCodec) -> dict[str, Any]:
    """One record as ``tail`` prints it."""
    return {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": from_millis(record.timestamp),
        "timestamp_ms": record.timestamp,
        "key": text_or_hex(record.key),
        "headers": {name: text_or_hex(value) for name, value in record.headers or []},
        **decode_value(codec, record.value),
    }


def tail(
    settings: Settings,
    codec: AvroCodec,
    name: str,
    where: Where,
    key: str | None = None,
    follow: bool = False,
) -> Iterator[dict[str, Any]]:
    """Records of topic ``name`` from ``where``, decoded; without ``follow`` up to the end
    offsets when the read starts (so it ends while producers keep writing)."""
    consumer = open_consumer(settings)
    try:
        topic = resolve_topic(settings, name, set(consumer.topics()))
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(tps)
        _seek(consumer, tps, where)
        ends = None if follow else consumer.end_offsets(tps)
        wanted = None if key is None else key.encode()
        yield from (
            describe(record, codec)
            for record in records_until(consumer, ends, POLL_MS)
            if wanted is None or record.key == wanted
        )
    finally:
        consumer.close()


def _seek(consumer: KafkaConsumer, tps: list[TopicPartition], where: Where) -> None:
    if where.start == "earliest":
        consumer.seek_to_beginning(*tps)
        return
    if where.start == "end":
        consumer.seek_to_end(*tps)
        return
    found = consumer.offsets_for_times({tp: where.start for tp in tps})
    for tp in tps:
        if found.get(tp) is None:
            consumer.seek_to_end(tp)  # nothing at or after that time in this partition
        else:
            consumer.seek(tp, found[tp].offset)


def human(record: dict[str, Any]) -> str:
    """Two or three lines: where, when, key and schema; the headers; the value."""
    what = (
        f"{record['schema']} v{record['version']}"
        if "schema" in record
        else "json"
        if record.get("encoding") == "json"
        else "tombstone"
        if record.get("tombstone")
        else f"undecodable ({record['length']} bytes)"
    )
    lines = [
        f"{record['topic']} [{record['partition']}] @{record['offset']}  {record['timestamp']}"
        f"  key={record['key']}  {what}"
    ]
    if record["headers"]:
        lines.append("  headers: " + ", ".join(f"{k}={v}" for k, v in record["headers"].items()))
    if "error" in record:
        lines.append(f"  error: {record['error']}")
        lines.append(f"  hex: {record['hex']}" + ("..." if record["length"] > HEX_BYTES else ""))
    elif not record.get("tombstone"):
        lines.append("  " + json.dumps(record["value"], sort_keys=True, default=str))
    return "\n".join(lines)
