"""AvroCodec: single-object encoding round trips, typed errors, timestamps as int millis."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.adapters.codec import MARKER, AvroCodec, DecodeError, EncodeError, register_faust_codec
from streams.adapters.schema_store import SchemaStore
from streams.messages import Message
from tests.unit.saga_samples import SAGA_SAMPLES

pytestmark = pytest.mark.unit

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z in epoch millis
CMD = {
    "command_id": "c-1",
    "order_id": "o-1",
    "expected_version": None,
    "issued_at": T0,
    "correlation_id": "corr-1",
}
EVT = {
    "event_id": "e-1",
    "order_id": "o-1",
    "version": 1,
    "occurred_at": T0,
    "correlation_id": "corr-1",
    "causation_id": "c-1",
}
LINES = [
    {"sku": "SKU-1", "quantity": 2, "unit_price_cents": 1250},
    {"sku": "SKU-2", "quantity": 1, "unit_price_cents": 99},
]
STATE = {
    "user_id": "u-1",
    "status": "cancelled",
    "items": LINES,
    "currency": "EUR",
    "total_cents": 2599,
    "created_at": T0,
    "updated_at": T0 + 5,
    "cancel_reason": "changed my mind",
    "tracking_number": None,
}
SAMPLES = [
    Message("CreateOrder", {**CMD, "user_id": "u-1", "items": LINES, "currency": "EUR"}),
    Message("CancelOrder", {**CMD, "expected_version": 3, "reason": "changed my mind"}),
    Message("ConfirmOrder", dict(CMD)),
    Message("ShipOrder", {**CMD, "tracking_number": "TRK-1"}),
    Message("DeliverOrder", dict(CMD)),
    Message(
        "OrderCreated",
        {**EVT, "user_id": "u-1", "items": LINES, "currency": "EUR", "total_cents": 2599},
    ),
    Message("OrderConfirmed", {**EVT, "version": 2}),
    Message("OrderCancelled", {**EVT, "version": 2, "reason": "changed my mind"}),
    Message("OrderDelivered", {**EVT, "version": 4}),
    Message(
        "CommandResult",
        {
            "command_id": "c-1",
            "order_id": "o-1",
            "status": "rejected",
            "version": 3,
            "event_ids": [],
            "reason_code": "version_conflict",
            "reason": "expected version 2, order is at 3",
            "occurred_at": T0,
        },
    ),
    Message("OrderSnapshot", {"order_id": "o-1", "version": 2, "taken_at": T0, "state": STATE}),
]


@pytest.fixture(scope="module")
def store() -> SchemaStore:
    return SchemaStore.load()


@pytest.fixture(scope="module")
def codec(store: SchemaStore) -> AvroCodec:
    return AvroCodec(store)


def _fill_defaults(codec: AvroCodec, msg: Message) -> Message:
    """The body a reader sees: the sample plus the defaults of the fields it left out."""
    fields = codec.store.latest(msg.name).schema["fields"]
    return Message(msg.name, {f["name"]: msg.body.get(f["name"], f.get("default")) for f in fields})


@pytest.mark.parametrize("msg", SAMPLES, ids=[m.name for m in SAMPLES])
def test_every_record_round_trips(codec: AvroCodec, msg: Message) -> None:
    data = codec.encode(msg)
    assert data[:2] == MARKER
    assert data[2:10] == codec.store.latest(msg.name).fingerprint
    assert codec.decode(data) == _fill_defaults(codec, msg)


def test_samples_cover_every_record(store: SchemaStore) -> None:
    covered = {m.name for m in SAMPLES} | {"OrderShipped"}  # OrderShipped: see below
    covered |= {m.name for m in SAGA_SAMPLES}  # round-tripped in test_saga_participants.py
    assert covered == set(store.names())


def test_order_shipped_round_trips(codec: AvroCodec) -> None:
    latest = codec.store.latest("OrderShipped").schema["fields"]
    body = {f["name"]: f.get("default") for f in latest if "default" in f}
    msg = Message("OrderShipped", {**EVT, **body, "version": 3, "tracking_number": "TRK-1"})
    assert codec.decode(codec.encode(msg)) == msg


def test_timestamps_stay_int_millis(codec: AvroCodec) -> None:
    decoded = codec.decode(codec.encode(SAMPLES[-1]))
    assert decoded["taken_at"] == T0 and type(decoded["taken_at"]) is int
    assert decoded["state"]["updated_at"] == T0 + 5


def test_encode_fills_defaults_for_missing_optional_fields(codec: AvroCodec) -> None:
    body = {k: v for k, v in CMD.items() if k != "expected_version"}
    assert codec.decode(codec.encode(Message("ConfirmOrder", body)))["expected_version"] is None


text = st.text(max_size=20)
millis = st.integers(min_value=0, max_value=2**62)
order_lines = st.lists(
    st.fixed_dictionaries(
        {
            "sku": text,
            "quantity": st.integers(min_value=-(2**63), max_value=2**63 - 1),
            "unit_price_cents": st.integers(min_value=-(2**63), max_value=2**63 - 1),
        }
    ),
    max_size=5,
)
order_created = st.fixed_dictionaries(
    {
        "event_id": text,
        "order_id": text,
        "version": st.integers(min_value=1, max_value=2**63 - 1),
        "occurred_at": millis,
        "correlation_id": text,
        "causation_id": text,
        "user_id": text,
        "items": order_lines,
        "currency": text,
        "total_cents": st.integers(min_value=-(2**63), max_value=2**63 - 1),
        "sales_channel": text,
    }
).map(lambda body: Message("OrderCreated", body))


_CODEC = AvroCodec(SchemaStore.load())


@settings(max_examples=200, deadline=None)
@given(order_created)
def test_decode_inverts_encode(msg: Message) -> None:
    assert _CODEC.decode(_CODEC.encode(msg)) == msg


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "too short"),
        (b"\xc3\x01\x00\x01", "too short"),
        (b"\x01\x02" + bytes(8) + b"\x02", "bad marker 0102"),
        (b"\x00\x01", "too short for the Confluent wire format"),
        (b"{}" + bytes(10), "bad marker 7b7d"),
    ],
)
def test_malformed_header_is_a_decode_error(codec: AvroCodec, data: bytes, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason) as info:
        codec.decode(data)
    assert info.value.fingerprint is None


def test_unknown_fingerprint_names_it(codec: AvroCodec) -> None:
    fp = bytes.fromhex("0123456789abcdef")
    with pytest.raises(DecodeError, match="unknown writer schema fingerprint 0123456789abcdef"):
        codec.decode(MARKER + fp + b"\x00")
    try:
        codec.decode(MARKER + fp)
    except DecodeError as exc:
        assert exc.fingerprint == fp


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda d: d[:-3],  # truncated
        lambda d: d[:12],  # body cut short inside the first string
        lambda d: d + b"\x00\x00",  # trailing garbage
        lambda d: d[:10] + b"\xff" * 12,  # varint that never ends
        lambda d: d[:10] + b"\x04\xff\xfe" + d[13:],  # invalid UTF-8 in event_id
        lambda d: d[:10] + b"\x01" + d[11:],  # negative string length
    ],
)
def test_corrupt_body_is_a_decode_error(codec: AvroCodec, corrupt) -> None:
    data = codec.encode(SAMPLES[5])
    with pytest.raises(DecodeError, match="OrderCreated") as info:
        codec.decode(corrupt(data))
    assert info.value.fingerprint == data[2:10]


def test_decode_error_is_a_value_error() -> None:
    assert issubclass(DecodeError, ValueError) and issubclass(EncodeError, ValueError)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"total_cents": "12"}, "total_cents"),
        ({"total_cents": 1.5}, "total_cents"),
        ({"user_id": None}, "user_id"),
        ({"occurred_at": 2**64}, "occurred_at"),
        ({"items": [{"sku": "A", "unit_price_cents": 1}]}, r"items\[0\].quantity is missing"),
        ({"items": [{"sku": "A", "quantity": 2**63, "unit_price_cents": 1}]}, "quantity"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_body_that_does_not_fit_is_an_encode_error(codec: AvroCodec, change, problem) -> None:
    with pytest.raises(EncodeError, match=problem) as info:
        codec.encode(Message("OrderCreated", {**SAMPLES[5].body, **change}))
    assert "OrderCreated" in str(info.value)


def test_unknown_record_is_an_encode_error(codec: AvroCodec) -> None:
    with pytest.raises(EncodeError, match="NoSuchRecord"):
        codec.encode(Message("NoSuchRecord", {}))


def test_faust_codec_delegates(codec: AvroCodec) -> None:
    from faust.serializers import codecs

    registered = register_faust_codec(codec)
    assert codecs.get_codec("orderflow-avro") is registered
    data = registered.dumps(SAMPLES[0])
    assert struct.unpack("<2s", data[:2])[0] == MARKER
    assert registered.loads(data) == _fill_defaults(codec, SAMPLES[0])
