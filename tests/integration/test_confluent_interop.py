"""Confluent interop against a real registry: Confluent's own Python client writes a command
with its ``AvroSerializer``, a real worker (``SCHEMA_REGISTRY_URL`` set) accepts it, and
the events and outcome it writes decode with Confluent's ``AvroDeserializer``.

The registry is the Apicurio Registry of ``orderflow stack up --registry`` (its Confluent
API), at ``ORDERFLOW_TEST_SCHEMA_REGISTRY_URL``; ``make test`` starts it. Unit tests of the
framing run against answers recorded from it (tests/unit/test_confluent_framing.py).
"""

from __future__ import annotations

import os
import struct
import time
import uuid
import zlib

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient, record_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from streams.adapters.admin import create_topics, delete_namespace_topics
from streams.adapters.client import CommandClient, new_command
from streams.adapters.codec import AvroCodec
from streams.adapters.eventlog import partition_for
from streams.adapters.schema_registry import registry_codec
from streams.adapters.schema_store import SchemaStore
from streams.config.settings import Settings
from streams.config.topics import ORDER_COMMANDS
from streams.ops.stack.registry import registry_answers
from streams.runtime.deadletter import REASON
from tests.support import AGGREGATE_ONLY, orderflow, read_topic, start_worker, worker_env

pytestmark = pytest.mark.integration

STORE = SchemaStore.load()
LINE = {"sku": "SKU-7", "quantity": 3, "unit_price_cents": 1999}


@pytest.fixture(scope="module")
def registry_url() -> str:
    url = os.environ.get("ORDERFLOW_TEST_SCHEMA_REGISTRY_URL", "")
    if not url or not registry_answers(url):
        pytest.fail(
            f"no schema registry answers at ORDERFLOW_TEST_SCHEMA_REGISTRY_URL={url!r}: "
            "`make test` starts one (`orderflow stack up --registry`)"
        )
    done = orderflow(None, "schemas", "register", "--registry-url", url, "--json")
    assert done.returncode == 0, done.stderr
    return url


@pytest.fixture(scope="module")
def pipeline(registry_url, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("confluent")
    env = worker_env(tmp, ORDERFLOW_AGENTS=AGGREGATE_ONLY, SCHEMA_REGISTRY_URL=registry_url)
    settings = Settings.from_env(env)
    create_topics(settings)
    worker = start_worker(env, tmp)
    try:
        yield settings, SchemaRegistryClient({"url": registry_url})
    finally:
        worker.stop()
        delete_namespace_topics(settings)


def confluent_records(settings: Settings, topic: str, key: bytes, expect: int) -> list:
    """Committed records of ``topic`` with ``key``, read by Confluent's consumer."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap_servers,
            "group.id": f"interop-{uuid.uuid4().hex[:8]}",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )
    name = settings.topic(topic)
    partitions = consumer.list_topics(name, timeout=10).topics[name].partitions
    consumer.assign([TopicPartition(name, p, 0) for p in partitions])  # from the start
    found: list = []
    deadline = time.monotonic() + 60
    try:
        while len(found) < expect and time.monotonic() < deadline:
            record = consumer.poll(0.5)
            if record is not None and record.error() is None and record.key() == key:
                found.append(record)
        return found
    finally:
        consumer.close()


def _order_id_librdkafka_puts_elsewhere(partitions: int) -> str:
    """An order id whose partition under librdkafka's default partitioner (crc32 of the
    key) is not its partition under Kafka's default (murmur2), orderflow's."""
    while True:
        order_id = f"cf-{uuid.uuid4().hex[:8]}"
        key = order_id.encode()
        if zlib.crc32(key) % partitions != partition_for(key, partitions):
            return order_id


def test_a_confluent_producer_is_accepted_and_the_events_decode_with_confluent(pipeline):
    settings, registry = pipeline
    order_id = _order_id_librdkafka_puts_elsewhere(ORDER_COMMANDS.partitions)
    command = {
        "command_id": str(uuid.uuid4()), "order_id": order_id, "expected_version": None,
        "issued_at": int(time.time() * 1000), "correlation_id": f"corr-{order_id}",
        "user_id": "u-confluent", "items": [LINE], "currency": "EUR", "sales_channel": "api",
    }  # fmt: skip
    # The .avsc as a Confluent user would hand it over; the serializer registers it
    # itself (its default), so the id it writes may be its own, not `schemas register`'s.
    serializer = AvroSerializer(
        registry,
        STORE.latest("CreateOrder").path.read_text(),
        conf={"subject.name.strategy": record_subject_name_strategy},
    )
    topic = settings.topic("orders.commands")
    value = serializer(command, SerializationContext(topic, MessageField.VALUE))
    assert value[0] == 0  # Confluent's wire format, not ours
    # librdkafka's default partitioner (crc32) puts the command on another partition than
    # the order's (murmur2): the aggregate forwards it there, and decides it there.
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap_servers})
    producer.produce(topic, key=order_id.encode(), value=value)
    assert producer.flush(10) == 0

    deserializer = AvroDeserializer(registry)

    def decoded(topic_name: str, expect: int) -> list[tuple[str, dict]]:
        rows = []
        for record in confluent_records(settings, topic_name, order_id.encode(), expect):
            raw = record.value()
            schema_id = struct.unpack(">I", raw[1:5])[0]
            schema = registry.get_schema(schema_id).schema_str
            context = SerializationContext(record.topic(), MessageField.VALUE)
            rows.append((schema, deserializer(raw, context)))
        return rows

    [(result_schema, result)] = decoded("orders.command-results", 1)
    assert '"name":"CommandResult"' in result_schema.replace(" ", "")
    assert (result["command_id"], result["status"]) == (command["command_id"], "accepted")
    [(event_schema, event)] = decoded("orders.events", 1)
    assert '"name":"OrderCreated"' in event_schema.replace(" ", "")
    assert event["order_id"] == order_id and event["user_id"] == "u-confluent"
    assert event["items"] == [LINE] and event["total_cents"] == 3 * 1999
    assert event["causation_id"] == command["command_id"]
    copies = confluent_records(settings, "orders.commands", order_id.encode(), 2)
    key = order_id.encode()
    assert sorted(r.partition() for r in copies) == sorted(
        [zlib.crc32(key) % ORDER_COMMANDS.partitions, partition_for(key, ORDER_COMMANDS.partitions)]
    )
    assert copies[0].value() == copies[1].value() == value  # forwarded as written


def test_the_same_worker_reads_single_object_commands_and_parks_unknown_ids(pipeline):
    settings, _ = pipeline
    client = CommandClient(settings, registry_codec(settings))  # reads the outcomes
    try:
        client.start_listening()
        command = new_command(
            "CreateOrder", f"so-{uuid.uuid4().hex[:8]}", "corr-so", user_id="u", items=[LINE],
            currency="EUR",
        )  # fmt: skip
        single_object = AvroCodec(STORE).encode(command)  # no registry: orderflow's own format
        assert single_object[:2] == b"\xc3\x01"
        client.send_raw(command["order_id"].encode(), single_object)
        bad = b"\x00" + struct.pack(">I", 987_654) + b"\x02\x41"
        client.send_raw(b"cf-unknown-id", bad)
        client.flush()
        results = client.wait_for_results([command["command_id"]], timeout=60)
        assert results[command["command_id"]]["status"] == "accepted"
    finally:
        client.close()
    parked = [r for r in read_topic(settings, "orders.dead-letters", expect=1) if r.value == bad]
    assert parked, "the command with an unknown schema id was not dead-lettered"
    reason = dict(parked[0].headers)[REASON].decode()
    assert reason.startswith("unknown schema id 987654: the schema registry at http://"), reason
