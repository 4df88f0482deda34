"""The schema-evolution gate, offline, with Apache avro's ``ReaderWriterCompatibilityChecker``:
for each record, every version is checked against earlier ones as ``compatibility.json``
says (BACKWARD: the newer version reads older data; FORWARD: older versions read newer
data; ``_TRANSITIVE``: against every earlier version, not only the previous one).
``orderflow schemas check`` reports what it finds; the evolution tests run it on edited
copies of ``schemas/``.

Hand-written around the checker: it merges its findings into unordered sets, losing which
reason belongs to which field, so each finding is recorded where the checker makes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import avro.compatibility as avro_compat
import avro.schema

from streams.adapters.schema_store import SchemaStore

REASONS = {
    "reader_field_missing_default_value": "the reader has a field without a default "
    "that the writer does not write",
    "type_mismatch": "types do not resolve",
    "missing_enum_symbols": "the writer has enum symbols the reader lacks, "
    "and the reader's enum has no default",
    "name_mismatch": "the record or type name changed without an alias",
    "missing_union_branch": "a writer union branch has no match in the reader",
    "fixed_size_mismatch": "fixed sizes differ",
}


@dataclass(frozen=True)
class Incompatibility:
    """One reason why ``reader_version`` of ``record`` cannot read ``writer_version`` data."""

    record: str
    reader_version: int
    writer_version: int
    policy: str
    field: str
    kind: str
    detail: str

    def __str__(self) -> str:
        return (
            f"{self.record}: v{self.reader_version} cannot read v{self.writer_version} data "
            f"({self.policy}): field {self.field}: {REASONS.get(self.kind, self.kind)} "
            f"[{self.kind}: {self.detail}]"
        )


def pairs_to_check(policy: str, count: int) -> Iterator[tuple[int, int]]:
    """(reader, writer) version pairs that ``policy`` requires for versions 1..count."""
    transitive = policy.endswith("_TRANSITIVE")
    for newer in range(2, count + 1):
        for older in range(1 if transitive else newer - 1, newer):
            if policy.startswith(("BACKWARD", "FULL")):
                yield newer, older
            if policy.startswith(("FORWARD", "FULL")):
                yield older, newer


def check_store(store: SchemaStore) -> list[Incompatibility]:
    """Every incompatibility between versions of every record that its policy forbids."""
    found = []
    for name in store.names():
        svs, policy = store.versions(name), store.policy(name)
        parsed = [avro.schema.parse(json.dumps(sv.schema)) for sv in svs]
        for reader, writer in pairs_to_check(policy, len(svs)):
            for kind, detail, location in _incompatibilities(
                parsed[reader - 1], parsed[writer - 1]
            ):
                field = _field_path(svs[reader - 1].schema, location)
                found.append(Incompatibility(name, reader, writer, policy, field, kind, detail))
    return found


@contextmanager
def _recorded_incompatibilities() -> Iterator[list[tuple[str, str, str]]]:
    # The checker merges its findings into unordered sets of messages and locations, losing
    # which reason belongs to which field; record each finding where the checker makes it.
    found: list[tuple[str, str, str]] = []
    original = avro_compat.incompatible

    def record(
        incompat_type: avro_compat.SchemaIncompatibilityType, message: str, location: list[str]
    ) -> avro_compat.SchemaCompatibilityResult:
        result = original(incompat_type, message, location)
        found.append((incompat_type.value, message, next(iter(result.locations))))
        return result

    avro_compat.incompatible = record
    try:
        yield found
    finally:
        avro_compat.incompatible = original


def _incompatibilities(reader: Any, writer: Any) -> list[tuple[str, str, str]]:
    with _recorded_incompatibilities() as found:
        checker = avro_compat.ReaderWriterCompatibilityChecker()
        result = checker.get_compatibility(reader, writer)
    if result.compatibility is avro_compat.SchemaCompatibilityType.compatible:
        return []
    # Union checks try branches and discard failures; keep what reached the final result.
    kept = [f for f in found if f[1] in result.messages and f[2] in result.locations]
    return kept or [("incompatible", "; ".join(sorted(result.messages)), "/")]


def _field_path(schema: Any, location: str) -> str:
    """A checker location (``/fields/6/type/items/fields/1/type``) as ``items[].quantity``."""
    parts: list[str] = []
    node, tokens = schema, [t for t in location.split("/") if t]
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token == "fields" and i + 1 < len(tokens) and isinstance(node, dict):
            node = node["fields"][int(tokens[i + 1])]
            parts.append(node["name"])
            i += 1
        elif token in ("type", "items", "values") and isinstance(node, dict) and token in node:
            node = node[token]
            if token != "type" and parts:
                parts[-1] += "[]" if token == "items" else "{}"
        elif token.isdigit() and isinstance(node, list):
            node = node[int(token)]
        i += 1
    return ".".join(parts) or "(record)"
