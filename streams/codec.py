"""Avro single-object encoding of :class:`~streams.messages.Message`, with schema evolution.

Wire format (Avro spec, "Single-object encoding"): ``C3 01`` + the writer schema's 8-byte
little-endian CRC-64-AVRO fingerprint + the schemaless Avro binary body. Producers write the
latest version of a record; readers accept any version in the store and resolve it to the
latest, running registered upcasters for changes Avro resolution cannot express.

Timestamps: the schemas mark epoch-millis fields ``timestamp-millis`` for other tools, but the
Python body always carries them as ``int`` milliseconds. The codec encodes and decodes with a
copy of each schema without that logical type (it is not part of the Parsing Canonical Form, so
the fingerprint is unchanged) instead of converting datetimes back on every read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from io import BytesIO
from typing import Any

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.validation import ValidationError, validate

from streams.messages import Message
from streams.schema_store import SchemaStore, SchemaVersion

MARKER = b"\xc3\x01"
HEADER_LEN = len(MARKER) + 8
FAUST_CODEC_NAME = "orderflow-avro"

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class DecodeError(ValueError):
    """Bytes that cannot become a Message; ``fingerprint`` is the writer's, when it was read."""

    def __init__(self, reason: str, fingerprint: bytes | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fingerprint = fingerprint


class EncodeError(ValueError):
    """A Message whose body does not fit its record's schema; the message names both."""


def _without_timestamp_logical_types(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: _without_timestamp_logical_types(v)
            for k, v in node.items()
            if not (k == "logicalType" and v == "timestamp-millis")
        }
    if isinstance(node, list):
        return [_without_timestamp_logical_types(v) for v in node]
    return node


def _wire_schema(sv: SchemaVersion) -> dict[str, Any]:
    return parse_schema(_without_timestamp_logical_types(sv.schema), named_schemas={})


class AvroCodec:
    """Encode and decode Messages against a :class:`SchemaStore`.

    ``upcasters`` maps ``(record_name, writer_version)`` to a function turning a body shaped
    like that version into one shaped like the next version (default: ``streams.upcasters``).
    """

    def __init__(
        self, store: SchemaStore, upcasters: Mapping[tuple[str, int], Upcaster] | None = None
    ) -> None:
        if upcasters is None:
            from streams.upcasters import UPCASTERS as upcasters
        self.store = store
        self.upcasters = dict(upcasters)
        self._wire: dict[bytes, dict[str, Any]] = {}
        self._plans: dict[bytes, tuple[str, Callable[[bytes], dict[str, Any]]]] = {}

    def wire_schema(self, sv: SchemaVersion) -> dict[str, Any]:
        """The parsed schema the codec reads and writes ``sv`` with (cached)."""
        parsed = self._wire.get(sv.fingerprint)
        if parsed is None:
            parsed = self._wire[sv.fingerprint] = _wire_schema(sv)
        return parsed

    def encode(self, msg: Message, *, version: int | None = None) -> bytes:
        """Single-object encoding of ``msg`` with the latest (or the given) version of its record.

        Fields missing from the body take their schema default; unknown fields are an error.
        """
        try:
            sv = (
                self.store.latest(msg.name)
                if version is None
                else self.store.version(msg.name, version)
            )
        except KeyError as exc:
            raise EncodeError(f"cannot encode {msg.name!r}: {exc.args[0]}") from None
        schema = self.wire_schema(sv)
        # fastavro's writer silently truncates floats and overflows ints; validate first.
        if not validate(msg.body, schema, raise_errors=False):
            raise EncodeError(f"{msg.name} v{sv.version}: {_explain(msg.body, schema)}")
        buf = BytesIO()
        buf.write(MARKER)
        buf.write(sv.fingerprint)
        try:
            schemaless_writer(buf, schema, msg.body, strict_allow_default=True)
        except Exception as exc:  # e.g. fields the schema does not know
            raise EncodeError(f"{msg.name} v{sv.version}: {exc}") from exc
        return buf.getvalue()

    def decode(self, data: bytes) -> Message:
        """The Message in ``data``, resolved to the latest version of its record."""
        if len(data) < HEADER_LEN:
            raise DecodeError(f"too short for single-object encoding: {len(data)} bytes")
        if data[:2] != MARKER:
            raise DecodeError(f"bad marker {bytes(data[:2]).hex()}, expected c301")
        fp = bytes(data[2:HEADER_LEN])
        name, plan = self._plans.get(fp) or self._plan(fp)
        try:
            body = plan(data)
        except Exception as exc:  # EOFError, ValueError, IndexError, UnicodeDecodeError, ...
            raise DecodeError(f"corrupt {name} body: {type(exc).__name__}: {exc}", fp) from exc
        return Message(name, body)

    def _plan(self, fp: bytes) -> tuple[str, Callable[[bytes], dict[str, Any]]]:
        writer = self.store.by_fingerprint(fp)
        if writer is None:
            raise DecodeError(f"unknown writer schema fingerprint {fp.hex()}", fp)
        svs = self.store.versions(writer.name)
        steps = [v for v in range(writer.version, len(svs)) if (writer.name, v) in self.upcasters]
        if steps:
            plan = self._upcasting_plan(writer, svs, steps, fp)
        else:
            plan = _resolution(self.wire_schema(writer), self.wire_schema(svs[-1]))
        self._plans[fp] = (writer.name, plan)
        return self._plans[fp]

    def _upcasting_plan(
        self, writer: SchemaVersion, svs: list[SchemaVersion], steps: list[int], fp: bytes
    ) -> Callable[[bytes], dict[str, Any]]:
        # Resolve to the version an upcaster expects, upcast, re-encode with the next version,
        # and so on; only records older than a semantic change pay for the detour.
        def run(data: bytes) -> dict[str, Any]:
            start, payload = writer, data
            for step in steps:
                body = _resolution(self.wire_schema(start), self.wire_schema(svs[step - 1]))(
                    payload
                )
                body = self.upcasters[(writer.name, step)](body)
                start = svs[step]  # the upcaster returned version step + 1's shape
                if step == len(svs) - 1:
                    return body
                payload = self.encode(Message(writer.name, body), version=start.version)
            return _resolution(self.wire_schema(start), self.wire_schema(svs[-1]))(payload)

        return run


def _resolution(
    writer: dict[str, Any], reader: dict[str, Any]
) -> Callable[[bytes], dict[str, Any]]:
    reader_or_none = None if writer is reader else reader

    def read(data: bytes) -> dict[str, Any]:
        buf = BytesIO(data)
        buf.seek(HEADER_LEN)
        body = schemaless_reader(buf, writer, reader_or_none)
        if buf.tell() != len(data):
            raise ValueError(f"{len(data) - buf.tell()} trailing bytes after the body")
        return body

    return read


def _explain(body: Any, schema: dict[str, Any]) -> str:
    """Say what is wrong, naming fields; fastavro's own messages print whole schemas."""
    problems = _shape_problems(body, schema, schema.get("name", ""))
    if not problems:
        try:
            validate(body, schema, raise_errors=True)
        except ValidationError as exc:
            problems = [_shorten(str(e)) for e in exc.errors]
    return "; ".join(problems) or "does not match the schema"


def _shape_problems(datum: Any, schema: Any, path: str) -> list[str]:
    if isinstance(schema, dict) and schema.get("type") == "record":
        if not isinstance(datum, Mapping):
            return [f"{path} must be a record (dict), got {type(datum).__name__}"]
        problems = []
        for field in schema["fields"]:
            name = field["name"]
            if name in datum:
                problems += _shape_problems(datum[name], field["type"], f"{path}.{name}")
            elif "default" not in field:
                problems.append(f"{path}.{name} is missing and has no default")
        return problems
    if isinstance(schema, dict) and schema.get("type") == "array" and isinstance(datum, list):
        return [
            p
            for i, d in enumerate(datum)
            for p in _shape_problems(d, schema["items"], f"{path}[{i}]")
        ]
    return []


def _shorten(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def register_faust_codec(codec: AvroCodec, name: str = FAUST_CODEC_NAME) -> Any:
    """Register ``codec`` with Faust as serializer ``name`` and return the Faust codec.

    Faust is imported here so that importing this module never pulls Faust in.
    """
    from faust.serializers import codecs

    class OrderflowAvroCodec(codecs.Codec):
        def _dumps(self, obj: Any) -> bytes:
            return codec.encode(obj)

        def _loads(self, s: bytes) -> Any:
            return codec.decode(s)

    faust_codec = OrderflowAvroCodec()
    codecs.register(name, faust_codec)
    return faust_codec
