"""``orderflow schemas``: list and show the Avro records, check their evolution policy, and
publish them to a Confluent-compatible schema registry.

The compatibility gate runs offline, with Apache avro's ``ReaderWriterCompatibilityChecker``:
for each record, every version is checked against earlier ones as ``compatibility.json`` says
(BACKWARD: the newer version reads older data; FORWARD: older versions read newer data;
``_TRANSITIVE``: against every earlier version, not only the previous one).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import avro.compatibility as avro_compat
import avro.schema
import click

from streams.adapters.schema_registry import (
    RegistryRefused,
    RegistryUnavailable,
    SchemaRegistryClient,
    schema_text,
    subject_name,
)
from streams.adapters.schema_store import SchemaStore, SchemaStoreError, SchemaVersion
from streams.cli.context import pass_settings
from streams.cli.output import emit_json, fail, table, usage
from streams.config import redact
from streams.config.settings import Settings

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


def _open_store() -> SchemaStore:
    try:
        return SchemaStore.load(click.get_current_context().meta.get(_DIR_KEY))
    except SchemaStoreError as exc:
        raise click.ClickException(str(exc)) from None


def _version_info(sv: SchemaVersion) -> dict[str, Any]:
    return {"version": sv.version, "fingerprint": sv.fingerprint_hex, "path": str(sv.path)}


_DIR_KEY = "orderflow.schemas_dir"


@click.group()
@click.option(
    "--schemas-dir",
    envvar="ORDERFLOW_SCHEMAS_DIR",
    type=click.Path(file_okay=False),
    help="Directory of .avsc files (default: the repository's schemas/).",
)
@click.pass_context
def schemas(ctx: click.Context, schemas_dir: str | None) -> None:
    """The Avro records: list, show, check schema evolution, register them."""
    ctx.meta[_DIR_KEY] = schemas_dir


@schemas.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON document instead of a table.")
def list_schemas(as_json: bool) -> None:
    """Every record with its versions, fingerprints and compatibility policy."""
    store = _open_store()
    rows: list[dict[str, Any]] = [
        {
            "name": name,
            "group": store.latest(name).group,
            "policy": store.policy(name),
            "versions": [_version_info(sv) for sv in store.versions(name)],
        }
        for name in store.names()
    ]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    lines = [
        {"name": row["name"], "version": f"v{info['version']}", "fingerprint": info["fingerprint"],
         "group": row["group"], "policy": row["policy"]}
        for row in rows
        for info in row["versions"]
    ]  # fmt: skip
    click.echo(table(lines, ["name", "version", "fingerprint", "group", "policy"]))


@schemas.command()
@click.argument("name")
@click.option("--version", "version", type=int, help="Which version (default: the latest).")
@click.option("--json", "as_json", is_flag=True, help="Metadata and schema as one JSON document.")
def show(name: str, version: int | None, as_json: bool) -> None:
    """Print one version of record NAME."""
    store = _open_store()
    try:
        sv = store.latest(name) if version is None else store.version(name, version)
    except KeyError as exc:
        raise click.ClickException(exc.args[0]) from None
    if as_json:
        info = {
            "name": sv.name,
            "group": sv.group,
            "policy": store.policy(name),
            **_version_info(sv),
        }
        click.echo(json.dumps({**info, "canonical": sv.canonical, "schema": sv.schema}, indent=2))
        return
    click.echo(f"# {sv.name} v{sv.version}  fingerprint {sv.fingerprint_hex}  {sv.path}")
    click.echo(json.dumps(sv.schema, indent=2))


@schemas.command()
@click.option("--json", "as_json", is_flag=True, help="Incompatibilities as a JSON list.")
def check(as_json: bool) -> None:
    """Check every record's versions against its compatibility policy; exit 1 on a violation."""
    store = _open_store()
    problems = check_store(store)
    if as_json:
        click.echo(json.dumps([asdict(p) for p in problems], indent=2))
    else:
        for problem in problems:
            click.echo(str(problem))
    versions = sum(len(store.versions(n)) for n in store.names())
    summary = f"{len(store.names())} records, {versions} versions: "
    if problems:
        click.echo(summary + f"{len(problems)} incompatibilities", err=True)
        raise SystemExit(1)
    if not as_json:
        click.echo(summary + "compatible under their policies")


def register_store(client: SchemaRegistryClient, store: SchemaStore) -> list[dict[str, Any]]:
    """Register every version of every record, oldest first, each record under its own
    subject (its full name) with its compatibility policy; one row per version."""
    rows = []
    for name in store.names():
        for sv in store.versions(name):
            subject = subject_name(sv)
            schema_id = client.register(subject, schema_text(sv))
            if sv.version == 1:  # the subject exists now (Apicurio wants that)
                client.set_compatibility(subject, store.policy(name))
            rows.append(
                {
                    "subject": subject,
                    "record": name,
                    "version": sv.version,
                    "id": schema_id,
                    "fingerprint": sv.fingerprint_hex,
                    "compatibility": store.policy(name),
                }
            )
    return rows


@schemas.command()
@click.option(
    "--registry-url",
    metavar="URL",
    help="The registry's Confluent API (default: SCHEMA_REGISTRY_URL), e.g. "
    "http://127.0.0.1:18081/apis/ccompat/v7 for `orderflow stack up --registry`.",
)
@click.option("--json", "as_json", is_flag=True, help="The registered versions as JSON.")
@pass_settings
def register(settings: Settings, registry_url: str | None, as_json: bool) -> None:
    """Publish every version of every record to a Confluent-compatible schema registry.

    One subject per record, named by its full name (RecordNameStrategy), with its
    compatibility policy from compatibility.json; versions oldest first. Registering again
    changes nothing. Exit 1 when the registry refuses a schema or does not answer.
    """
    url = registry_url or settings.schema_registry_url
    if not url:
        usage("no registry: set SCHEMA_REGISTRY_URL or pass --registry-url", "--registry-url")
    redact.remember(redact.url_secrets(url))
    try:
        client = SchemaRegistryClient(url)
    except ValueError as exc:
        usage(str(exc), "--registry-url")
    store = _open_store()
    try:
        rows = register_store(client, store)
    except (RegistryUnavailable, RegistryRefused) as exc:
        fail(str(exc))
        return
    if as_json:
        emit_json({"registry": client.shown, "registered": rows})
        return
    click.echo(table(rows, ["subject", "version", "id", "compatibility"]))
    click.echo(f"{len(rows)} versions of {len(store.names())} records registered at {client.shown}")
