"""The ``orderflow`` command: one click group, a sub-group per concern."""

from __future__ import annotations

import logging
import sys

import click

from streams.adapters.schema_registry import RegistryRefused, RegistryUnavailable
from streams.bootstrap import bootstrap
from streams.config import logs
from streams.config.settings import Settings, SettingsError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.version_option(
    package_name="orderflow", prog_name="orderflow", message="%(prog)s %(version)s"
)
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """orderflow: an event-driven order pipeline on Kafka, Faust, Redis and ClickHouse.

    Exit status: 0 done, 1 failed or refused (a rejected command, a service down, a
    check that found drift), 2 a usage error (a bad option or argument).
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logs.install()  # a broker that is down must not bury the one line that says so
    if not verbose:
        # kafka-python logs what a command reports itself, or what is no news: "Metadata
        # refresh failed" on a closing producer, a 4 KB dump of group metadata it cannot
        # decode. -v shows them.
        logging.getLogger("kafka").setLevel(logging.CRITICAL)
    try:
        ctx.obj = bootstrap(Settings.from_env())  # builds nothing yet: see streams.bootstrap
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from None
    ctx.call_on_close(ctx.obj.close)  # the clients a command opened


def _register() -> None:
    # Imported here so `orderflow --help` stays fast and each concern owns its module.
    from streams.cli import demo, orders, saga, schemas, stack, topics, worker
    from streams.cli.analytics import analytics
    from streams.cli.consumer_group import consumer_group
    from streams.cli.deadletters import dead_letters
    from streams.cli.kafka import kafka
    from streams.cli.lag import lag
    from streams.cli.read_orders import get as _orders_get  # noqa: F401 - adds `orders get|list`
    from streams.cli.replay import replay
    from streams.cli.tail import tail_command
    from streams.cli.verify import verify

    cli.add_command(stack.stack)
    cli.add_command(topics.topics)
    cli.add_command(worker.worker)
    cli.add_command(demo.demo)
    cli.add_command(orders.orders)
    cli.add_command(schemas.schemas)
    cli.add_command(saga.saga)
    cli.add_command(analytics)
    cli.add_command(verify)
    cli.add_command(kafka)
    cli.add_command(lag)
    cli.add_command(replay)
    cli.add_command(consumer_group)
    cli.add_command(dead_letters)
    cli.add_command(tail_command)


def main() -> None:
    _register()
    try:
        code = cli.main(prog_name="orderflow", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.format_message(), err=True)  # a bare group: its help, as click does
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        # One line, like every other refusal: what is wrong and where help is.
        where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        click.echo(f"error: {exc.format_message()}{where}", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except (RegistryUnavailable, RegistryRefused) as exc:
        # SCHEMA_REGISTRY_URL is set and the registry is down, or refuses: one line.
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except (click.Abort, KeyboardInterrupt):
        click.echo("interrupted", err=True)
        sys.exit(130)
    sys.exit(code if type(code) is int else 0)  # an Exit code; a returned value is success


if __name__ == "__main__":
    main()
