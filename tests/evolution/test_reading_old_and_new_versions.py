"""Readers resolve every known writer version: v1 data through the v2 reader (Avro rules plus
upcasters), v2 data through a v1 reader where the policy promises forward compatibility, and
an unknown writer schema as a typed DecodeError carrying its fingerprint."""

from __future__ import annotations

import io
import json
from pathlib import Path

import fastavro
import pytest
from versioned_writes import downcast, write_with_version

from streams.adapters.codec import AvroCodec, DecodeError, EncodeError
from streams.adapters.schema_store import SchemaStore
from streams.messages import Message

pytestmark = pytest.mark.evolution

T0 = 1_767_225_600_000
EVT = {
    "event_id": "e-1",
    "order_id": "o-1",
    "version": 1,
    "occurred_at": T0,
    "correlation_id": "corr-1",
    "causation_id": "c-1",
}
CMD = {
    "command_id": "c-1",
    "order_id": "o-1",
    "expected_version": None,
    "issued_at": T0,
    "correlation_id": "corr-1",
}
LINES = [{"sku": "SKU-1", "quantity": 3, "unit_price_cents": 700}]
LATEST = [
    Message("CreateOrder", {**CMD, "user_id": "u-1", "items": LINES, "currency": "EUR"}),
    Message(
        "OrderCreated",
        {**EVT, "user_id": "u-1", "items": LINES, "currency": "EUR", "total_cents": 2100},
    ),
    Message(
        "OrderShipped",
        {
            **EVT,
            "version": 3,
            "tracking_number": "TRK-1",
            "carrier_name": "DHL",
            "weight_kg": 1.5,
            "shipping_cost_cents": 1999,
        },
    ),
    Message(
        "CommandResult",
        {
            "command_id": "c-1",
            "order_id": "o-1",
            "status": "accepted",
            "version": 1,
            "event_ids": ["e-1"],
            "reason_code": None,
            "reason": None,
            "occurred_at": T0,
        },
    ),
    Message(
        "OrderSnapshot",
        {
            "order_id": "o-1",
            "version": 1,
            "taken_at": T0,
            "state": {
                "user_id": "u-1",
                "status": "pending",
                "items": LINES,
                "currency": "EUR",
                "total_cents": 2100,
                "created_at": T0,
                "updated_at": T0,
                "cancel_reason": None,
                "tracking_number": None,
            },
        },
    ),
]


def _with_defaults(codec: AvroCodec, msg: Message) -> Message:
    fields = codec.store.latest(msg.name).schema["fields"]
    return Message(msg.name, {f["name"]: msg.body.get(f["name"], f.get("default")) for f in fields})


def test_several_records_have_a_v2(store: SchemaStore) -> None:
    evolved = {n for n in store.names() if len(store.versions(n)) > 1}
    assert {"CreateOrder", "OrderCreated", "OrderShipped", "CommandResult"} <= evolved


@pytest.mark.parametrize("msg", LATEST, ids=[m.name for m in LATEST])
def test_v1_writer_v2_reader_gives_the_latest_shape(codec: AvroCodec, msg: Message) -> None:
    data = write_with_version(codec, msg, 1)
    assert data[2:10] == codec.store.version(msg.name, 1).fingerprint
    assert codec.decode(data) == _with_defaults(codec, msg)


def test_added_field_takes_its_default(codec: AvroCodec) -> None:
    v1 = downcast(codec, LATEST[1], 1)
    assert "sales_channel" not in v1.body
    assert codec.decode(codec.encode(v1, version=1))["sales_channel"] == "unknown"


def test_int_to_long_promotion(codec: AvroCodec) -> None:
    big = {**LATEST[0].body, "items": [{**LINES[0], "quantity": 2**31 - 1}]}
    decoded = codec.decode(codec.encode(Message("CreateOrder", big), version=1))
    assert decoded["items"][0]["quantity"] == 2**31 - 1
    huge = {**big, "items": [{**LINES[0], "quantity": 2**40}]}
    with pytest.raises(EncodeError, match="quantity"):
        codec.encode(Message("CreateOrder", huge), version=1)  # v1 is int
    assert codec.decode(codec.encode(Message("CreateOrder", huge)))["items"][0]["quantity"] == 2**40


def _shipped_v1(**fields) -> Message:
    body = {**EVT, "version": 3, "tracking_number": "TRK-1", **fields}
    return Message("OrderShipped", body)


def test_renamed_field_is_read_through_its_alias_and_float_promotes_to_double(
    codec: AvroCodec,
) -> None:
    decoded = codec.decode(codec.encode(_shipped_v1(carrier="DHL", weight_kg=0.1), version=1))
    assert decoded["carrier_name"] == "DHL" and "carrier" not in decoded.body
    assert decoded["weight_kg"] == pytest.approx(0.1, rel=1e-7)  # float32 precision, as double


def test_semantic_change_needs_the_upcaster(store: SchemaStore, codec: AvroCodec) -> None:
    data = codec.encode(_shipped_v1(shipping_cost=19.99), version=1)
    assert codec.decode(data)["shipping_cost_cents"] == 1999
    assert "shipping_cost" not in codec.decode(data).body  # removed in v2 (it had a default)
    # Without it Avro resolution is "compatible" but silently wrong: the amount becomes 0.
    assert AvroCodec(store, upcasters={}).decode(data)["shipping_cost_cents"] == 0


def test_v2_writer_v1_reader_where_policy_promises_forward(store: SchemaStore) -> None:
    assert store.policy("CommandResult") == "FULL_TRANSITIVE"
    new_service, old_service = (
        AvroCodec(store),
        AvroCodec(store, reader_versions={"CommandResult": 1}),
    )
    result = {**LATEST[3].body, "status": "failed", "retryable": True, "reason_code": "timeout"}
    data = new_service.encode(Message("CommandResult", result))
    seen_by_old = old_service.decode(data)
    assert seen_by_old["status"] == "rejected"  # the v1 enum default
    assert "retryable" not in seen_by_old.body
    assert seen_by_old["reason_code"] == "timeout"


def test_v2_writer_v1_reader_with_plain_fastavro(codec: AvroCodec, store: SchemaStore) -> None:
    # The same promise without our codec: another team's fastavro consumer still on v1.
    data = codec.encode(Message("CommandResult", {**LATEST[3].body, "retryable": True}))
    v1 = fastavro.parse_schema(store.version("CommandResult", 1).schema)
    v2 = fastavro.parse_schema(store.version("CommandResult", 2).schema)
    old = fastavro.schemaless_reader(io.BytesIO(data[10:]), v2, v1)
    assert old["status"] == "accepted" and "retryable" not in old


def test_backward_only_record_is_not_read_forward(store: SchemaStore, codec: AvroCodec) -> None:
    assert store.policy("OrderShipped") == "BACKWARD_TRANSITIVE"
    old_service = AvroCodec(store, reader_versions={"OrderShipped": 1})
    data = codec.encode(LATEST[2])
    # double -> float does not resolve: the policy never promised this direction.
    with pytest.raises(DecodeError, match="OrderShipped: cannot resolve") as info:
        old_service.decode(data)
    assert info.value.fingerprint == store.latest("OrderShipped").fingerprint


def test_unknown_writer_schema_is_a_decode_error_with_its_fingerprint(
    schemas_copy: Path, codec: AvroCodec
) -> None:
    folder = schemas_copy / "orders/events/OrderConfirmed"
    schema = json.loads((folder / "v1.avsc").read_text())
    schema["fields"].append({"name": "note", "type": "string", "default": "", "doc": "A note."})
    (folder / "v2.avsc").write_text(json.dumps(schema))
    future = AvroCodec(SchemaStore.load(schemas_copy))
    data = future.encode(Message("OrderConfirmed", {**EVT, "note": "from the future"}))
    with pytest.raises(DecodeError) as info:
        codec.decode(data)
    assert info.value.fingerprint == data[2:10]
    assert data[2:10].hex() in str(info.value)


def test_upcast_records_resolve_on_to_later_versions(schemas_copy: Path, codec: AvroCodec) -> None:
    folder = schemas_copy / "orders/events/OrderShipped"
    schema = json.loads((folder / "v2.avsc").read_text())
    schema["fields"].append({"name": "signed_by", "type": "string", "default": "", "doc": "Who."})
    (folder / "v3.avsc").write_text(json.dumps(schema))
    v3_codec = AvroCodec(SchemaStore.load(schemas_copy))
    data = codec.encode(_shipped_v1(carrier="UPS", shipping_cost=4.5), version=1)
    decoded = v3_codec.decode(data)
    assert decoded["shipping_cost_cents"] == 450 and decoded["carrier_name"] == "UPS"
    assert decoded["signed_by"] == ""
