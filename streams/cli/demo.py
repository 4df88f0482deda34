"""``orderflow demo``: the main job, end to end on the running stack."""

from __future__ import annotations

import click
from tqdm import tqdm

from streams.admin import KafkaUnavailable, create_topics
from streams.cli.output import emit_json, fail
from streams.codec import AvroCodec
from streams.demo import run_demo, summary_dict
from streams.schema_store import SchemaStore
from streams.settings import Settings


@click.command()
@click.option("--orders", default=200, show_default=True, type=click.IntRange(min=1))
@click.option("--timeout", default=180.0, show_default=True, help="Seconds to wait per phase.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
def demo(settings: Settings, orders: int, timeout: float, as_json: bool) -> None:
    """Start a worker, send ORDERS demo orders (and a few cancellations and one malformed
    message), wait until Redis and ClickHouse caught up, print a summary, stop the worker."""
    try:
        create_topics(settings)
    except KafkaUnavailable as exc:
        fail(str(exc))
    codec = AvroCodec(SchemaStore.load())
    with tqdm(total=orders, desc="orders sent", unit="order", disable=as_json) as bar:
        try:
            summary = run_demo(settings, codec, orders, timeout, bar.update)
        except RuntimeError as exc:
            fail(str(exc))
    if as_json:
        emit_json(summary_dict(summary))
    else:
        click.echo(
            f"orders sent: {summary.orders_sent} (accepted {summary.orders_accepted}, "
            f"{summary.orders_cancelled} then cancelled; {summary.malformed_sent} malformed "
            "message dead-lettered)\n"
            f"orders found in Redis: {summary.orders_in_redis}\n"
            f"orders found in ClickHouse: {summary.orders_in_clickhouse}\n"
            f"end to end: {summary.seconds}s, {summary.events_per_second} events/s "
            "(command sent to both read models updated)\n"
            f"saga outcomes: {summary.saga_outcomes} (declined payments, out-of-stock and "
            "unshippable items are compensated)\n"
            f"worker log: {summary.worker_log}"
        )
    if summary.orders_in_redis != summary.orders_accepted or (
        summary.orders_in_clickhouse != summary.orders_accepted
    ):
        fail("the read models did not catch up with every accepted order; see the worker log")
