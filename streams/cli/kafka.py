"""``orderflow kafka TOOL [ARGS]...``: Apache Kafka's command line tools (``kafka-TOOL.sh``)
against orderflow's cluster, with its bootstrap server and security settings."""

from __future__ import annotations

import subprocess
import sys

import click

from streams.cli.context import pass_settings
from streams.cli.output import fail, usage
from streams.config.settings import Settings
from streams.ops.kafka_tools import TOOLS, tool_command
from streams.ops.stack.errors import StackError


@click.command(
    "kafka",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
    epilog="Tools: " + ", ".join(TOOLS) + ". Example: orderflow kafka consumer-groups --list",
)
@click.argument("tool")
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@pass_settings
def kafka(settings: Settings, tool: str, args: tuple[str, ...]) -> None:
    """Run Kafka's own TOOL (kafka-TOOL.sh) with ARGS against orderflow's cluster:
    `--bootstrap-server` and, with SASL or TLS, a client config file are added. Topic names
    are the full ones (`<namespace>.orders.events`; `orderflow topics list` shows them).
    The jars are those `orderflow stack up` fetched; the first run may fetch them."""
    if tool not in TOOLS:
        usage(f"unknown tool {tool!r}; choose one of: {', '.join(TOOLS)}", "TOOL")
    try:
        with tool_command(settings, tool, list(args)) as command:
            code = subprocess.call(command)
    except StackError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)
