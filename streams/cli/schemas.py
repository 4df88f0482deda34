"""``orderflow schemas``: list and show the Avro records, check their evolution policy, and
publish them to a Confluent-compatible schema registry.

The compatibility gate itself is ``streams.adapters.compatibility``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import click

from streams.adapters.compatibility import check_store
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
