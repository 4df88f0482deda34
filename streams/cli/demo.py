"""``orderflow demo``: the main job, end to end on the running stack."""

from __future__ import annotations

import click
from tqdm import tqdm

from streams.adapters.admin import KafkaUnavailable, create_topics
from streams.bootstrap import Services
from streams.cli.context import pass_services
from streams.cli.needs import needs_kafka
from streams.cli.output import emit_json, fail
from streams.cli.params import Seconds
from streams.ops.demo import answering, run_demo, summary_dict


@click.command()
@click.option("--orders", default=200, show_default=True, type=click.IntRange(min=1))
@click.option(
    "--timeout",
    default=180.0,
    show_default=True,
    type=Seconds(most=86_400),
    help="Seconds to wait per phase.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_services
@needs_kafka
def demo(services: Services, orders: int, timeout: float, as_json: bool) -> None:
    """Start a worker, send ORDERS demo orders (and a few cancellations and one malformed
    message), wait until Redis and ClickHouse caught up, print a summary, stop the worker.

    The demo runs only on a worker it starts itself: while another process answers on
    ORDERFLOW_WEB_PORT it refuses (exit 1) rather than report on a worker it did not run."""
    settings = services.settings
    try:
        create_topics(settings)
    except KafkaUnavailable as exc:
        fail(str(exc))
    occupant = answering(settings.web_host, settings.web_port)
    if occupant:  # before the progress bar: the refusal is the only line
        fail(
            f"another process already answers on {settings.web_url} ({occupant}); the demo "
            "runs a worker of its own: stop that one, or set ORDERFLOW_WEB_PORT to a free port"
        )
    codec = services.codec
    with tqdm(total=orders, desc="orders done", unit="order", disable=as_json) as bar:
        started = False

        def progress(done: int) -> None:
            nonlocal started
            if not started:  # the clock starts with the first order, not the worker's start-up
                bar.reset(total=orders)
                started = True
            bar.update(done - bar.n)  # orders through their saga and into the read models

        try:
            summary = run_demo(settings, codec, services.redis, orders, timeout, progress)
        except RuntimeError as exc:
            fail(str(exc))
    outcomes = ", ".join(f"{state} {n}" for state, n in summary.saga_outcomes.items()) or "none"
    if as_json:
        emit_json(summary_dict(summary))
    else:
        click.echo(
            f"orders sent: {summary.orders_sent} (accepted {summary.orders_accepted}, "
            f"{summary.orders_cancelled} then cancelled; {summary.malformed_sent} malformed "
            "message dead-lettered)\n"
            f"orders found in Redis: {summary.orders_in_redis}\n"
            f"orders found in ClickHouse: {summary.orders_in_clickhouse}\n"
            f"end to end: {summary.seconds}s for {summary.orders_accepted} orders, "
            f"{summary.orders_per_second} orders/s, {summary.order_events} order events "
            f"({summary.events_per_second} events/s), from the first command sent to every "
            "saga finished and both read models updated\n"
            f"saga outcomes: {outcomes} (declined payments, out-of-stock and "
            "unshippable items are compensated)\n"
            f"worker log: {summary.worker_log}"
        )
    if summary.orders_in_redis != summary.orders_accepted or (
        summary.orders_in_clickhouse != summary.orders_accepted
    ):
        fail("the read models did not catch up with every accepted order; see the worker log")
