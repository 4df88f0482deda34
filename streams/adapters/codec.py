"""Avro single-object encoding of :class:`~streams.messages.Message`, with schema evolution.

Two wire formats, both read whatever the settings say:

- Avro single-object encoding (the default): ``C3 01`` + the writer schema's 8-byte
  little-endian CRC-64-AVRO fingerprint + the schemaless Avro binary body. Fingerprints are
  looked up in the local :class:`SchemaStore`; no server is involved.
- Confluent's wire format, written when a schema registry is configured
  (``SCHEMA_REGISTRY_URL``, see :mod:`streams.adapters.schema_registry`): magic byte ``00`` + the
  4-byte big-endian schema id + the same body. The registry says which schema an id is
  (once per id per process); its fingerprint then names the version in the store, so both
  framings lead to the same reading plan.

Producers write the latest version of a record; readers accept any version in the store
and resolve it to the latest, running registered upcasters for changes Avro resolution
cannot express.

Timestamps: the schemas mark epoch-millis fields ``timestamp-millis`` for other tools, but the
Python body always carries them as ``int`` milliseconds. The codec encodes and decodes with a
copy of each schema without that logical type (it is not part of the Parsing Canonical Form, so
the fingerprint is unchanged) instead of converting datetimes back on every read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from io import BytesIO
from typing import Any, Protocol, cast

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.read import SchemaResolutionError
from fastavro.validation import ValidationError, validate

from streams.adapters.schema_store import SchemaStore, SchemaVersion
from streams.messages import Message

MARKER = b"\xc3\x01"
HEADER_LEN = len(MARKER) + 8
CONFLUENT_MAGIC = b"\x00"
CONFLUENT_HEADER_LEN = len(CONFLUENT_MAGIC) + 4
FAUST_CODEC_NAME = "orderflow-avro"

Upcaster = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
# Reads the body of ``data`` from ``offset`` (the length of its header).
Plan = Callable[[bytes, int], dict[str, Any]]


class DecodeError(ValueError):
    """Bytes that cannot become a Message; ``fingerprint`` is the writer's, when it was read."""

    def __init__(self, reason: str, fingerprint: bytes | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fingerprint = fingerprint


class EncodeError(ValueError):
    """A Message whose body does not fit its record's schema; the message names both."""


class UnknownSchemaId(LookupError):
    """A schema id that names no version of the store; the message says why."""


class SchemaIds(Protocol):
    """Schema ids of a registry and the store's versions they stand for (each side asked
    of the registry once): :class:`streams.adapters.schema_registry.RegistryIds`."""

    def version_of(self, schema_id: int) -> SchemaVersion:
        """The version ``schema_id`` is; ``UnknownSchemaId`` when it is none."""
        ...

    def id_of(self, sv: SchemaVersion) -> int:
        """The id ``sv`` is registered with; ``UnknownSchemaId`` when it is not."""
        ...


def is_confluent_framed(data: bytes) -> bool:
    """True when ``data`` starts like Confluent's wire format (magic byte 0)."""
    return data[:1] == CONFLUENT_MAGIC


def _for_the_wire(node: Any) -> Any:
    """``node`` without timestamp-millis logical types (ints stay ints) and without docs
    (smaller schemas make fastavro's per-call schema comparison and lookup cheaper)."""
    if isinstance(node, dict):
        return {
            k: v if k == "default" else _for_the_wire(v)
            for k, v in node.items()
            if k != "doc" and not (k == "logicalType" and v == "timestamp-millis")
        }
    if isinstance(node, list):
        return [_for_the_wire(v) for v in node]
    return node


def _wire_schema(sv: SchemaVersion) -> dict[str, Any]:
    # A record's schema parses to a dict (fastavro's return type covers every schema).
    return cast(dict[str, Any], parse_schema(_for_the_wire(sv.schema), named_schemas={}))


class AvroCodec:
    """Encode and decode Messages against a :class:`SchemaStore`.

    ``upcasters`` maps ``(record_name, version)`` to ``fn(body, written)`` finishing the step
    from that version to the next (default: ``streams.adapters.upcasters.UPCASTERS``; see there).
    ``reader_versions`` pins the version a service reads and writes per record (default: the
    latest); a service built against v1 can then load a newer ``schemas/`` and still read v2
    data as v1 where the record's policy promises forward compatibility.
    ``registry`` (schema ids of a Confluent-compatible registry): write Confluent's wire
    format, and read it; without one, a Confluent-framed value is a ``DecodeError``.
    """

    def __init__(
        self,
        store: SchemaStore,
        upcasters: Mapping[tuple[str, int], Upcaster] | None = None,
        reader_versions: Mapping[str, int] | None = None,
        registry: SchemaIds | None = None,
    ) -> None:
        if upcasters is None:
            from streams.adapters.upcasters import UPCASTERS

            upcasters = UPCASTERS
        self.store = store
        self.upcasters = dict(upcasters)
        self.reader_versions = dict(reader_versions or {})
        self.registry = registry
        self._wire: dict[bytes, dict[str, Any]] = {}
        self._plans: dict[bytes, tuple[str, Plan]] = {}

    def wire_schema(self, sv: SchemaVersion) -> dict[str, Any]:
        """The parsed schema the codec reads and writes ``sv`` with (cached)."""
        parsed = self._wire.get(sv.fingerprint)
        if parsed is None:
            parsed = self._wire[sv.fingerprint] = _wire_schema(sv)
        return parsed

    def reader(self, name: str) -> SchemaVersion:
        """The version of ``name`` this codec decodes to and encodes with by default."""
        pinned = self.reader_versions.get(name)
        return self.store.latest(name) if pinned is None else self.store.version(name, pinned)

    def encode(self, msg: Message, *, version: int | None = None) -> bytes:
        """``msg`` with the reader (or the given) version of its record, in Confluent's wire
        format when the codec has a registry, else in single-object encoding.

        Fields missing from the body take their schema default; unknown fields are an error.
        """
        try:
            sv = self.reader(msg.name) if version is None else self.store.version(msg.name, version)
        except KeyError as exc:
            raise EncodeError(f"cannot encode {msg.name!r}: {exc.args[0]}") from None
        if self.registry is None:
            return self._encode(msg, sv, MARKER + sv.fingerprint)
        try:
            schema_id = self.registry.id_of(sv)
        except UnknownSchemaId as exc:
            raise EncodeError(f"{msg.name} v{sv.version}: {exc}") from None
        return self._encode(msg, sv, CONFLUENT_MAGIC + schema_id.to_bytes(4, "big"))

    def _encode(self, msg: Message, sv: SchemaVersion, header: bytes) -> bytes:
        schema = self.wire_schema(sv)
        # fastavro's writer silently truncates floats and overflows ints; validate first.
        if not validate(msg.body, schema, raise_errors=False):
            raise EncodeError(f"{msg.name} v{sv.version}: {_explain(msg.body, schema)}")
        buf = BytesIO()
        buf.write(header)
        try:
            schemaless_writer(buf, schema, msg.body, strict_allow_default=True)
        except Exception as exc:  # e.g. fields the schema does not know
            raise EncodeError(f"{msg.name} v{sv.version}: {exc}") from exc
        return buf.getvalue()

    def decode(self, data: bytes) -> Message:
        """The Message in ``data`` (either framing), resolved to the reader version of its
        record."""
        fp, start = self._writer_fingerprint(data)
        name, plan = self._plans.get(fp) or self._plan(fp)
        try:
            body = plan(data, start)
        except SchemaResolutionError as exc:
            raise DecodeError(f"{name}: cannot resolve to the reader schema: {exc}", fp) from exc
        except Exception as exc:  # EOFError, ValueError, IndexError, UnicodeDecodeError, ...
            raise DecodeError(f"corrupt {name} body: {type(exc).__name__}: {exc}", fp) from exc
        return Message(name, body)

    def writer(self, data: bytes) -> SchemaVersion | None:
        """The version that wrote ``data``, or None when its header names none."""
        try:
            fp, _ = self._writer_fingerprint(data)
        except DecodeError:
            return None
        return self.store.by_fingerprint(fp)

    def _writer_fingerprint(self, data: bytes) -> tuple[bytes, int]:
        """The writer's fingerprint and where the body starts, from either header."""
        if is_confluent_framed(data):
            return self._confluent_writer(data), CONFLUENT_HEADER_LEN
        if len(data) < HEADER_LEN:
            raise DecodeError(f"too short for single-object encoding: {len(data)} bytes")
        if data[:2] != MARKER:
            raise DecodeError(
                f"bad marker {bytes(data[:2]).hex()}, expected c301 (single-object "
                "encoding) or 00 (Confluent wire format)"
            )
        return bytes(data[2:HEADER_LEN]), HEADER_LEN

    def _confluent_writer(self, data: bytes) -> bytes:
        if len(data) < CONFLUENT_HEADER_LEN:
            raise DecodeError(f"too short for the Confluent wire format: {len(data)} bytes")
        schema_id = int.from_bytes(data[1:CONFLUENT_HEADER_LEN], "big")
        if self.registry is None:
            raise DecodeError(
                f"marker 00 is the Confluent wire format (schema id {schema_id}), but "
                "SCHEMA_REGISTRY_URL is not set to look the id up"
            )
        try:
            return self.registry.version_of(schema_id).fingerprint
        except UnknownSchemaId as exc:
            raise DecodeError(str(exc)) from None

    def _plan(self, fp: bytes) -> tuple[str, Plan]:
        writer = self.store.by_fingerprint(fp)
        if writer is None:
            raise DecodeError(f"unknown writer schema fingerprint {fp.hex()}", fp)
        svs, target = self.store.versions(writer.name), self.reader(writer.name)
        span = range(writer.version, target.version)
        steps = [v for v in span if (writer.name, v) in self.upcasters]
        if steps:
            plan = self._upcasting_plan(writer, svs[: target.version], steps)
        else:
            plan = _resolution(self.wire_schema(writer), self.wire_schema(target))
        self._plans[fp] = (writer.name, plan)
        return self._plans[fp]

    def _upcasting_plan(
        self, writer: SchemaVersion, svs: list[SchemaVersion], steps: list[int]
    ) -> Plan:
        # For each semantic step N -> N+1: read the payload as version N and as version N+1,
        # let the upcaster fix the meaning, re-encode as N+1 if later versions follow. Only
        # records older than a semantic change pay for the detour.
        def run(data: bytes, offset: int) -> dict[str, Any]:
            start, payload = writer, data
            for step in steps:
                source = self.wire_schema(start)
                written = _resolution(source, self.wire_schema(svs[step - 1]))(payload, offset)
                body = _resolution(source, self.wire_schema(svs[step]))(payload, offset)
                body = self.upcasters[(writer.name, step)](body, written)
                start = svs[step]
                if start is svs[-1]:
                    return body
                # Re-encoded in this process only: single-object, whatever the registry.
                payload = self._encode(
                    Message(writer.name, body), start, MARKER + start.fingerprint
                )
                offset = HEADER_LEN
            return _resolution(self.wire_schema(start), self.wire_schema(svs[-1]))(payload, offset)

        return run


def _resolution(writer: dict[str, Any], reader: dict[str, Any]) -> Plan:
    reader_or_none = None if writer is reader else reader

    def read(data: bytes, offset: int) -> dict[str, Any]:
        buf = BytesIO(data)
        buf.seek(offset)
        # A record schema reads a dict (fastavro's return type covers every Avro value).
        body = cast(dict[str, Any], schemaless_reader(buf, writer, reader_or_none))
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
