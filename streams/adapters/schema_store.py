"""The schema store: every version of every Avro record in ``schemas/``, by name and fingerprint.

Layout (see ``schemas/README.md``): ``schemas/<group>/<RecordName>/v<N>.avsc``. Each file is a
complete, self-contained writer schema (nested types are defined inline), so a version's
fingerprint never changes because some other file changed.

The fingerprint is the CRC-64-AVRO (Rabin) fingerprint of the schema's Parsing Canonical Form,
as 8 little-endian bytes: exactly what Avro single-object encoding puts on the wire.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from fastavro import parse_schema
from fastavro.schema import SchemaParseException, fingerprint, to_parsing_canonical_form

DEFAULT_SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas"
POLICY_FILE = "compatibility.json"
POLICIES = (
    "NONE",
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
)
DEFAULT_POLICY = "BACKWARD_TRANSITIVE"
_VERSION_FILE = re.compile(r"^v([1-9][0-9]*)\.avsc$")


class SchemaStoreError(ValueError):
    """The schemas directory holds something unusable; the message names the file."""


@dataclass(frozen=True)
class SchemaVersion:
    """One version of one record: its source, its parsed form and its fingerprint."""

    name: str  # short record name, e.g. "OrderCreated" (the Message name)
    version: int
    group: str  # directory of the record relative to the root, e.g. "orders/events"
    path: Path
    schema: dict[str, Any]  # the JSON as written, docs and all
    parsed: dict[str, Any]  # fastavro's parsed schema
    canonical: str  # Parsing Canonical Form
    fingerprint: bytes  # CRC-64-AVRO of ``canonical``, 8 bytes little-endian

    @property
    def fingerprint_hex(self) -> str:
        return self.fingerprint.hex()


def crc64_avro(canonical: str) -> bytes:
    """CRC-64-AVRO fingerprint of a Parsing Canonical Form, as 8 little-endian bytes."""
    return bytes.fromhex(fingerprint(canonical, "CRC-64-AVRO"))


def _load_version(root: Path, path: Path) -> SchemaVersion:
    match = _VERSION_FILE.match(path.name)
    if match is None:
        raise SchemaStoreError(f"{path}: schema files must be named v<N>.avsc")
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
        # A record's schema (checked below) parses to a dict; fastavro types any schema.
        parsed = cast(dict[str, Any], parse_schema(schema, named_schemas={}))
    except (OSError, json.JSONDecodeError, SchemaParseException, ValueError, TypeError) as exc:
        raise SchemaStoreError(f"{path}: cannot parse schema: {exc}") from None
    if not isinstance(schema, dict) or schema.get("type") != "record":
        raise SchemaStoreError(f"{path}: top-level schema must be a record")
    if schema["name"].rsplit(".", 1)[-1] != path.parent.name:
        raise SchemaStoreError(
            f"{path}: record name {schema['name']!r} must match its directory {path.parent.name!r}"
        )
    canonical = to_parsing_canonical_form(parsed)
    return SchemaVersion(
        name=path.parent.name,
        version=int(match.group(1)),
        group=path.parent.parent.relative_to(root).as_posix(),
        path=path,
        schema=schema,
        parsed=parsed,
        canonical=canonical,
        fingerprint=crc64_avro(canonical),
    )


class SchemaStore:
    """All record versions under one root directory. Build it with :meth:`load`."""

    def __init__(
        self, root: Path, versions: list[SchemaVersion], policy: dict[str, Any] | None = None
    ) -> None:
        self.root = root
        self._by_name: dict[str, list[SchemaVersion]] = {}
        self._by_fingerprint: dict[bytes, SchemaVersion] = {}
        for sv in sorted(versions, key=lambda v: (v.name, v.version)):
            self._add(sv)
        for name, svs in self._by_name.items():
            numbers = [sv.version for sv in svs]
            if numbers != list(range(1, len(numbers) + 1)):
                raise SchemaStoreError(
                    f"{name}: versions must be v1..vN without gaps, got {numbers}"
                )
        self._policy = _check_policy(policy or {}, self._by_name, root / POLICY_FILE)

    def _add(self, sv: SchemaVersion) -> None:
        same_name = self._by_name.setdefault(sv.name, [])
        if same_name and same_name[0].group != sv.group:
            raise SchemaStoreError(
                f"{sv.name} is defined in both {same_name[0].group} and {sv.group}"
            )
        clash = self._by_fingerprint.get(sv.fingerprint)
        if clash is not None:
            raise SchemaStoreError(
                f"{sv.path}: same Parsing Canonical Form as {clash.path}; "
                "a new version must change what is on the wire"
            )
        same_name.append(sv)
        self._by_fingerprint[sv.fingerprint] = sv

    @classmethod
    def load(cls, path: str | Path | None = None) -> SchemaStore:
        """Read every ``.avsc`` under ``path`` (default: the repository's ``schemas/``).

        Callers that honour ``ORDERFLOW_SCHEMAS_DIR`` pass its value here.
        """
        root = Path(path).expanduser() if path else DEFAULT_SCHEMAS_DIR
        if not root.is_dir():
            raise SchemaStoreError(f"schemas directory {root} does not exist")
        versions = [_load_version(root, p) for p in sorted(root.rglob("*.avsc"))]
        if not versions:
            raise SchemaStoreError(f"no .avsc files under {root}")
        policy_path = root / POLICY_FILE
        try:
            policy = json.loads(policy_path.read_text()) if policy_path.exists() else {}
        except (OSError, json.JSONDecodeError) as exc:
            raise SchemaStoreError(f"{policy_path}: {exc}") from None
        return cls(root, versions, policy)

    def names(self) -> list[str]:
        """Every record name, sorted."""
        return sorted(self._by_name)

    def versions(self, name: str) -> list[SchemaVersion]:
        """Every version of ``name``, oldest first. Unknown name: ``KeyError``."""
        try:
            return list(self._by_name[name])
        except KeyError:
            raise KeyError(f"unknown record {name!r}") from None

    def latest(self, name: str) -> SchemaVersion:
        """The newest version of ``name``: what producers write and readers resolve to."""
        return self.versions(name)[-1]

    def version(self, name: str, version: int) -> SchemaVersion:
        """Version ``version`` (1-based) of ``name``. Unknown: ``KeyError``."""
        svs = self.versions(name)
        if not 1 <= version <= len(svs):
            raise KeyError(f"{name} has no version {version} (has 1..{len(svs)})")
        return svs[version - 1]

    def by_fingerprint(self, fp: bytes) -> SchemaVersion | None:
        """The version whose CRC-64-AVRO fingerprint is ``fp``, or ``None`` if unknown."""
        return self._by_fingerprint.get(bytes(fp))

    def policy(self, name: str) -> str:
        """The policy of ``name``: its own entry, else its group's, else the default."""
        group = self.latest(name).group
        records, groups = self._policy.get("records", {}), self._policy.get("groups", {})
        return records.get(name) or groups.get(group) or self._policy.get("default", DEFAULT_POLICY)


def _check_policy(policy: Any, by_name: dict[str, list[SchemaVersion]], path: Path) -> dict:
    if not isinstance(policy, dict):
        raise SchemaStoreError(f"{path}: must hold a JSON object")
    groups = {svs[0].group for svs in by_name.values()}
    entries = [("default", policy.get("default", DEFAULT_POLICY))]
    for key, known in (("groups", groups), ("records", set(by_name))):
        for target, value in policy.get(key, {}).items():
            if target not in known:
                raise SchemaStoreError(f"{path}: {key} names unknown {target!r}")
            entries.append((target, value))
    for target, value in entries:
        if value not in POLICIES:
            raise SchemaStoreError(f"{path}: {target}: policy {value!r} is not one of {POLICIES}")
    return policy
