"""``orderflow verify``'s write-side check against the real broker: a pipeline run with
the saga (its ConfirmOrder/CancelOrder go through the aggregate too) verifies clean; an
accepted result whose events never reached the log, an event no accepted result names,
and events whose results retention removed are told apart.

The tests that break the write side write records straight to the topics with the codec,
in a namespace of their own, beside a consistent result-and-event pair the check must
leave alone.
"""

from __future__ import annotations

import json
import uuid

import pytest
from click.testing import CliRunner
from kafka import KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient

from processors.orders.domain import event_id_for
from streams.adapters.admin import create_topics, delete_namespace_topics
from streams.adapters.client import new_command
from streams.adapters.eventlog import partition_for
from streams.adapters.kafka_clients import kafka_python_config
from streams.cli.main import _register, cli
from streams.config.clock import now_ms
from streams.config.settings import Settings
from streams.messages import Message
from tests.integration.saga_support import SCENARIOS, SagaWorker, codec, new_order_id
from tests.support import eventually, orderflow

pytestmark = pytest.mark.integration
_register()

LINE = {"sku": "SKU-1", "quantity": 1, "unit_price_cents": 700}


def run_verify(settings: Settings) -> tuple[int, dict, str]:
    """``orderflow verify --json`` in this process: exit code, verdict, and the human output."""
    env = {
        "ORDERFLOW_NAMESPACE": settings.namespace,
        "CLICKHOUSE_URL": settings.clickhouse_url,
        "ORDERFLOW_DATA_DIR": str(settings.data_dir),
    }
    runner = CliRunner()
    as_json = runner.invoke(cli, ["verify", "--json"], env=env, catch_exceptions=False)
    human = runner.invoke(cli, ["verify"], env=env, catch_exceptions=False)
    return as_json.exit_code, json.loads(as_json.stdout), human.stdout


def created_event(order_id: str, command_id: str) -> Message:
    return Message(
        "OrderCreated",
        {
            "event_id": event_id_for(command_id, 0),
            "order_id": order_id,
            "version": 1,
            "occurred_at": now_ms(),
            "correlation_id": "corr-verify",
            "causation_id": command_id,
            "user_id": "u1",
            "items": [LINE],
            "currency": "EUR",
            "total_cents": 700,
        },
    )


def accepted_result(order_id: str, command_id: str, event_ids: list[str]) -> Message:
    return Message(
        "CommandResult",
        {
            "command_id": command_id,
            "order_id": order_id,
            "status": "accepted",
            "version": 1,
            "event_ids": event_ids,
            "occurred_at": now_ms(),
        },
    )


class Topics:
    """Writes records straight to the namespace's events and results topics."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.producer = KafkaProducer(**kafka_python_config(settings))

    def write(self, topic: str, message: Message) -> None:
        key = message["order_id"].encode()
        self.producer.send(self.settings.topic(topic), key=key, value=codec.encode(message))
        self.producer.flush()

    def pair(self, order_id: str) -> str:
        """A consistent command: its event, then its accepted result naming it."""
        command_id = str(uuid.uuid4())
        event = created_event(order_id, command_id)
        self.write("orders.events", event)
        self.write(
            "orders.command-results", accepted_result(order_id, command_id, [event["event_id"]])
        )
        return command_id

    def close(self) -> None:
        self.producer.close()


@pytest.fixture
def topics(settings, redis_client, clickhouse_client):
    create_topics(settings)
    writer = Topics(settings)
    yield writer
    writer.close()
    delete_namespace_topics(settings)


@pytest.fixture(scope="module")
def saga_worker(tmp_path_factory):
    worker = SagaWorker(tmp_path_factory.mktemp("verify-write-side"))
    yield worker
    worker.close()
    delete_namespace_topics(worker.settings)


def test_a_run_with_sagas_rejections_and_repeats_verifies_clean(saga_worker):
    ids = [
        saga_worker.place(new_order_id(name), sku, quantity, price)
        for name, (sku, quantity, price, _, _) in SCENARIOS.items()
    ]
    # A rejected command (it changed nothing) and a command delivered twice (its first
    # outcome is written again): neither is a mismatch.
    client = saga_worker.client
    client.send(new_command("CancelOrder", "no-such-order", "corr-saga", reason="test"))
    again = new_command(
        "CreateOrder", new_order_id("twice"), "corr-saga", user_id="u", items=[LINE], currency="EUR"
    )
    client.send(again)
    client.send(again)
    client.flush()
    for order_id in [*ids, again["order_id"]]:
        saga_worker.wait_final(order_id)

    last: list = []

    def clean():
        result = orderflow(saga_worker.env, "verify", "--json")
        last[:] = [result.returncode, result.stdout[-3000:], result.stderr[-2000:]]
        verdict = json.loads(result.stdout) if result.stdout.startswith("{") else {}
        # The read models may still be catching up with the last events.
        return verdict if result.returncode == 0 else None

    try:
        verdict = eventually(clean, 90, "`orderflow verify` to report clean")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last verify (code, stdout, stderr): {last}") from None
    side = verdict["write_side"]
    assert side["checked"] and side["mismatches"] == 0, side
    # 5 CreateOrder, then from the sagas: 2 ConfirmOrder (the happy scenario and the
    # repeated order) and 3 CancelOrder (the compensated scenarios).
    assert side["accepted_commands"] == 10, side
    assert side["rejected_results"] >= 1
    assert side["results"] >= side["accepted_commands"] + 2  # the rejection, the repeat
    assert verdict["drift"] == 0


def test_an_accepted_result_without_its_events_is_reported_with_its_order(settings, topics):
    good = topics.pair("order-good")
    lost = str(uuid.uuid4())
    never_written = event_id_for(lost, 0)
    topics.write("orders.command-results", accepted_result("order-lost", lost, [never_written]))

    code, verdict, human = run_verify(settings)

    side = verdict["write_side"]
    assert code == 1
    assert (side["missing_events"], side["unaccepted_events"]) == (1, 0), side
    assert side["examples"]["missing_events"] == [
        {"order_id": "order-lost", "command_id": lost, "event_ids": [never_written]}
    ]
    assert side["accepted_commands"] == 2 and good != lost
    assert "order order-lost" in human and lost in human


def test_an_event_without_an_accepted_result_is_reported_with_its_command(settings, topics):
    topics.pair("order-good")
    stray = str(uuid.uuid4())
    event = created_event("order-stray", stray)
    topics.write("orders.events", event)
    # A rejected result for the same command does not make its event legitimate.
    rejected = {**accepted_result("order-stray", stray, []).body, "status": "rejected"}
    topics.write("orders.command-results", Message("CommandResult", rejected))

    code, verdict, human = run_verify(settings)

    side = verdict["write_side"]
    assert code == 1
    assert (side["missing_events"], side["unaccepted_events"]) == (0, 1), side
    assert side["examples"]["unaccepted_events"] == [
        {
            "order_id": "order-stray",
            "event_id": event["event_id"],
            "event": "OrderCreated",
            "causation_id": stray,
        }
    ]
    # The read models never saw either order: their drift counts apart from the write side.
    read_drift = sum(m["drift"] for m in verdict["models"].values())
    assert verdict["drift"] == read_drift + 1
    assert "order order-stray" in human and stray in human


def test_events_whose_results_retention_removed_are_counted_not_reported(settings, topics):
    topics.pair("order-old")
    results = TopicPartition(
        settings.topic("orders.command-results"), partition_for(b"order-old", 4)
    )
    admin = KafkaAdminClient(**kafka_python_config(settings))
    try:
        # What retention does after 7 days: the partition's oldest records are deleted.
        admin.delete_records({results: -1})  # -1: up to the end of the partition
    finally:
        admin.close()

    def trimmed():
        code, verdict, _ = run_verify(settings)
        return verdict["write_side"]["results"] == 0 and (code, verdict)

    _, verdict = eventually(trimmed, 30, "the deletion to show")
    side = verdict["write_side"]
    assert (side["mismatches"], side["beyond_retention"]) == (0, 1), side
