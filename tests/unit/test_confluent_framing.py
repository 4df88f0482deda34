"""Both wire formats through one codec: single-object encoding and Confluent's (magic byte
0, 4-byte big-endian schema id), with the schema ids of a registry that answers as
Apicurio answered (tests/unit/recorded_registry.py: recorded responses, not the live
registry; the interop test runs against that)."""

from __future__ import annotations

import asyncio
import struct
from types import SimpleNamespace

import pytest

from streams.adapters.client import new_command
from streams.adapters.codec import MARKER, AvroCodec, DecodeError, EncodeError
from streams.adapters.schema_registry import (
    RegistryIds,
    RegistryUnavailable,
    SchemaRegistryClient,
    SchemasUnregistered,
    ensure_registered,
    registry_codec,
)
from streams.adapters.schema_store import SchemaStore
from streams.config.settings import Settings
from streams.messages import Message
from streams.ops.tail import decode_value
from streams.runtime.deadletter import FINGERPRINT, REASON, DeadLetters
from tests.unit.recorded_registry import recorded_registry

pytestmark = pytest.mark.unit

STORE = SchemaStore.load()
CREATE_ORDER_V2 = 8  # the ids Apicurio gave when `orderflow schemas register` ran
ORDER_CREATED_V1 = 16
FOREIGN_RECORD = 38  # x.T, a record that is no version in schemas/
UNKNOWN = 999


COMMAND = new_command(
    "CreateOrder",
    "order-1",
    "corr-1",
    user_id="u1",
    items=[{"sku": "SKU-1", "quantity": 2, "unit_price_cents": 1999}],
    currency="EUR",
)


# What a reader sees: the command with its schema's defaults filled in.
DECODED = AvroCodec(STORE).decode(AvroCodec(STORE).encode(COMMAND))


def command() -> Message:
    return COMMAND


def confluent(schema_id: int, body: bytes) -> bytes:
    return b"\x00" + struct.pack(">I", schema_id) + body


@pytest.fixture
def registry():
    with recorded_registry() as recorded:
        yield recorded


@pytest.fixture
def codec(registry) -> AvroCodec:
    return registry_codec(Settings(schema_registry_url=registry.url), STORE)


def test_writes_confluent_framing_with_the_registry_id(codec: AvroCodec, registry) -> None:
    data = codec.encode(command())
    assert data[0] == 0 and struct.unpack(">I", data[1:5])[0] == CREATE_ORDER_V2
    # The same Avro body as single-object encoding, behind a different header.
    assert data[5:] == AvroCodec(STORE).encode(command())[10:]
    assert codec.decode(data) == DECODED
    for _ in range(3):
        codec.encode(command())
    # One lookup per schema, not per message; decoding its own id asked nothing more.
    assert registry.requests == {("POST", "/apis/ccompat/v7/subjects/orderflow.CreateOrder"): 1}


def test_reads_both_framings_whatever_the_setting(codec: AvroCodec) -> None:
    plain = AvroCodec(STORE)
    single_object = plain.encode(command())
    assert single_object[:2] == MARKER
    assert codec.decode(single_object) == DECODED  # a registry codec reads the old format
    framed = confluent(CREATE_ORDER_V2, single_object[10:])
    assert codec.decode(framed) == DECODED
    assert codec.writer(framed) == STORE.latest("CreateOrder")
    assert codec.writer(single_object) == STORE.latest("CreateOrder")


def test_an_older_version_by_id_resolves_to_the_reader_version(codec: AvroCodec) -> None:
    v1 = STORE.version("OrderCreated", 1)
    body = {
        "event_id": "e1", "order_id": "o1", "correlation_id": "c1", "causation_id": "k1",
        "version": 1, "occurred_at": 1_767_225_600_000, "user_id": "u1",
        "items": [{"sku": "SKU-1", "quantity": 1, "unit_price_cents": 250}],
        "currency": "EUR", "total_cents": 250,
    }  # fmt: skip
    single = AvroCodec(STORE).encode(Message("OrderCreated", body), version=v1.version)
    decoded = codec.decode(confluent(ORDER_CREATED_V1, single[10:]))
    assert decoded.name == "OrderCreated"
    assert decoded.body == AvroCodec(STORE).decode(single).body  # same upcast as single-object
    assert codec.writer(confluent(ORDER_CREATED_V1, b"")) == v1


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x00", "too short for the Confluent wire format: 1 bytes"),
        (b"\x00\x00\x00\x09", "too short for the Confluent wire format: 4 bytes"),
    ],
)
def test_a_truncated_header_is_a_decode_error(codec: AvroCodec, data: bytes, reason) -> None:
    with pytest.raises(DecodeError, match=reason):
        codec.decode(data)


def test_a_truncated_body_is_a_decode_error_naming_the_record(codec: AvroCodec) -> None:
    data = codec.encode(command())
    with pytest.raises(DecodeError, match="corrupt CreateOrder body") as info:
        codec.decode(data[:-4])
    assert info.value.fingerprint == STORE.latest("CreateOrder").fingerprint


def test_an_unknown_schema_id_is_a_decode_error_asked_once(codec: AvroCodec, registry) -> None:
    for _ in range(3):
        with pytest.raises(DecodeError, match=f"unknown schema id {UNKNOWN}: the schema registry"):
            codec.decode(confluent(UNKNOWN, b"\x02"))
    assert registry.requests[("GET", f"/apis/ccompat/v7/schemas/ids/{UNKNOWN}")] == 1


def test_an_id_of_a_record_orderflow_does_not_know_is_a_decode_error(codec: AvroCodec) -> None:
    with pytest.raises(DecodeError, match=r"schema id 38 \(x\.T, fingerprint [0-9a-f]{16}\) is no"):
        codec.decode(confluent(FOREIGN_RECORD, b"\x02"))


def test_without_a_registry_a_confluent_frame_names_the_setting() -> None:
    with pytest.raises(DecodeError, match="schema id 8.*SCHEMA_REGISTRY_URL is not set"):
        AvroCodec(STORE).decode(confluent(CREATE_ORDER_V2, b"\x02"))


def test_an_unknown_schema_id_is_dead_lettered_with_its_reason(codec: AvroCodec) -> None:
    sent = []

    class Topic:
        async def send(self, **kwargs):
            sent.append(kwargs)

    value = confluent(UNKNOWN, b"\x02\x41")
    message = SimpleNamespace(topic="orders.commands", partition=2, offset=7, key=b"k", value=value)
    event = SimpleNamespace(value=value, message=message)
    assert asyncio.run(DeadLetters(Topic()).decode(event, codec)) is None
    [parked] = sent
    headers = dict(parked["headers"])
    assert parked["value"] == value and parked["key"] == b"k"
    assert headers[REASON].decode().startswith(f"unknown schema id {UNKNOWN}")
    assert FINGERPRINT not in headers


def test_tail_shows_the_schema_id_and_version(codec: AvroCodec) -> None:
    shown = decode_value(codec, codec.encode(command()))
    assert (shown["schema"], shown["version"], shown["schema_id"]) == (
        "CreateOrder",
        2,
        CREATE_ORDER_V2,
    )
    assert "schema_id" not in decode_value(codec, AvroCodec(STORE).encode(command()))
    bad = decode_value(codec, confluent(UNKNOWN, b"{}"))
    assert "unknown schema id" in bad["error"] and "encoding" not in bad


def test_writing_an_unregistered_schema_names_the_command_to_run(codec: AvroCodec) -> None:
    unregistered = new_command("ConfirmOrder", "order-1", "corr-1")
    with pytest.raises(EncodeError, match="not registered under subject orderflow.ConfirmOrder"):
        codec.encode(unregistered)
    with pytest.raises(SchemasUnregistered, match="orderflow schemas register"):
        ensure_registered(codec)


def test_a_registry_that_does_not_answer_is_no_decode_error() -> None:
    # A good message must not be dead-lettered because the registry is down: the error
    # propagates (the worker stops) and names the address without its password.
    client = SchemaRegistryClient("http://user:s3cret@127.0.0.1:9/apis/ccompat/v7", 0.5)
    codec = AvroCodec(STORE, registry=RegistryIds(client, STORE))
    with pytest.raises(RegistryUnavailable, match=r"http://user:\*\*\*@127.0.0.1:9/") as info:
        codec.decode(confluent(CREATE_ORDER_V2, b"\x02"))
    assert "s3cret" not in str(info.value)
