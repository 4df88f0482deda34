"""``orderflow stack up|down|status``: the local Kafka, Redis, ClickHouse and schema registry."""

from __future__ import annotations

import json
import sys

import click

from streams.cli.context import pass_settings
from streams.config.settings import Settings
from streams.ops import stack as local_stack


def _fail(exc: local_stack.StackError) -> None:
    for line in str(exc).splitlines():
        click.echo(f"error: {line}", err=True)
    sys.exit(1)


@click.group()
def stack() -> None:
    """Run Kafka, Redis, ClickHouse (and a schema registry) locally, without Docker."""


@stack.command()
@click.option(
    "--registry",
    is_flag=True,
    help="Also start a schema registry (Apicurio, Confluent API) at SCHEMA_REGISTRY_URL "
    "(default http://127.0.0.1:18081/apis/ccompat/v7); implied when that is set.",
)
@pass_settings
def up(settings: Settings, registry: bool) -> None:
    """Start what is not running; exit 0 only when every service is up."""
    try:
        local_stack.up(settings, echo=click.echo, registry=registry)
    except local_stack.StackError as exc:
        _fail(exc)


@stack.command()
@pass_settings
def down(settings: Settings) -> None:
    """Stop the servers that `stack up` started (external services are left alone)."""
    try:
        local_stack.down(settings, echo=click.echo)
    except local_stack.StackError as exc:
        _fail(exc)


def _describe(info: dict) -> str:
    where = info.get("managed", "")
    extras = [f"pid {info['pid']}"] if "pid" in info else []
    extras += [info[key] for key in ("detail",) if key in info]
    extras += [f"log {info['log']}"] if "log" in info else []
    return f"{where:<9} {info['address']}" + (f"  ({', '.join(extras)})" if extras else "")


@stack.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object keyed by service.")
@pass_settings
def status(settings: Settings, as_json: bool) -> None:
    """Show whether each service answers; always exits 0 (it only reports)."""
    try:
        report = local_stack.status(settings)
    except local_stack.StackError as exc:
        _fail(exc)
        return
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    for name, info in report.items():
        state = "up" if info["up"] else "down"
        click.echo(f"{name:<11} {state:<5} {_describe(info)}")
