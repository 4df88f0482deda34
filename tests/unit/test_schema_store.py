"""SchemaStore: layout rules, lookups, and fingerprints that follow the Avro spec."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import avro.schema
import pytest
from fastavro import parse_schema
from fastavro.schema import to_parsing_canonical_form

from streams.adapters.schema_store import SchemaStore, SchemaStoreError, crc64_avro

pytestmark = pytest.mark.unit

_EMPTY64 = 0xC15D213AA4D7A795  # the Avro spec's CRC-64-AVRO seed


def _crc64_avro(data: bytes) -> int:
    """CRC-64-AVRO written out from the Avro spec, independent of fastavro."""
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (_EMPTY64 & -(fp & 1))
        table.append(fp)
    result = _EMPTY64
    for byte in data:
        result = (result >> 8) ^ table[(result ^ byte) & 0xFF]
    return result


@pytest.fixture(scope="module")
def store() -> SchemaStore:
    return SchemaStore.load()


def test_spec_test_vector() -> None:
    # From the Avro test suite (share/test/data/schema-tests.txt): "null" -> 7195948357588979594
    assert _crc64_avro(b'"null"') == 7195948357588979594


def test_fingerprints_follow_the_spec(store: SchemaStore) -> None:
    for name in store.names():
        for sv in store.versions(name):
            expected = _crc64_avro(sv.canonical.encode()).to_bytes(8, "little")
            assert sv.fingerprint == expected, sv.path


def test_fingerprints_agree_with_apache_avro_without_logical_types(store: SchemaStore) -> None:
    # Apache avro 1.12 (Python) keeps {"type": "long"} for logical-typed longs in its canonical
    # form, against the spec; compare on a schema without logical types.
    schema = json.loads(
        json.dumps(store.latest("OrderCreated").schema).replace(
            '"logicalType": "timestamp-millis"', '"doc": "x"'
        )
    )
    parsed = avro.schema.parse(json.dumps(schema))

    ours = crc64_avro(to_parsing_canonical_form(parse_schema(schema, named_schemas={})))
    assert parsed.fingerprint("CRC-64-AVRO") == ours


def test_lookups(store: SchemaStore) -> None:
    assert "OrderCreated" in store.names() and "CommandResult" in store.names()
    latest = store.latest("OrderCreated")
    assert latest is store.versions("OrderCreated")[-1]
    assert store.version("OrderCreated", latest.version) is latest
    assert store.by_fingerprint(latest.fingerprint) is latest
    assert store.by_fingerprint(bytes(8)) is None
    assert latest.group == "orders/events"
    with pytest.raises(KeyError, match="Nope"):
        store.latest("Nope")
    with pytest.raises(KeyError, match="no version 99"):
        store.version("OrderCreated", 99)


def test_every_field_is_documented(store: SchemaStore) -> None:
    def walk(node, where):
        if isinstance(node, dict):
            if node.get("type") in ("record", "enum"):
                assert node.get("doc"), f"{where}: {node['name']} has no doc"
            for field in node.get("fields", []):
                assert field.get("doc"), f"{where}: field {field['name']} has no doc"
                walk(field["type"], where)
            walk(node.get("items"), where)
        elif isinstance(node, list):
            for branch in node:
                walk(branch, where)

    for name in store.names():
        for sv in store.versions(name):
            assert sv.schema["namespace"] == "orderflow"
            walk(sv.schema, sv.path)


@pytest.mark.parametrize(
    ("group", "envelope"),
    [
        (
            "orders/events",
            ["event_id", "order_id", "version", "occurred_at", "correlation_id", "causation_id"],
        ),
        (
            "orders/commands",
            ["command_id", "order_id", "expected_version", "issued_at", "correlation_id"],
        ),
    ],
)
def test_envelopes_are_identical(store: SchemaStore, group: str, envelope: list[str]) -> None:
    heads = {}
    for name in store.names():
        sv = store.latest(name)
        if sv.group == group:
            heads[name] = json.dumps(sv.schema["fields"][: len(envelope)], sort_keys=True)
            assert [f["name"] for f in sv.schema["fields"][: len(envelope)]] == envelope, name
    assert len(set(heads.values())) == 1, heads


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "schemas"
    shutil.copytree(SchemaStore.load().root, root)
    return root


def test_rejects_a_file_not_named_after_its_version(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / "orders/events/OrderCreated/v1.avsc").rename(
        root / "orders/events/OrderCreated/first.avsc"
    )
    with pytest.raises(SchemaStoreError, match="first.avsc: schema files must be named"):
        SchemaStore.load(root)


def test_rejects_a_version_gap(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    folder = root / "orders/events/OrderConfirmed"
    latest = sorted(folder.glob("v*.avsc"))[-1]
    schema = json.loads(latest.read_text())
    schema["fields"].append({"name": "x", "type": "int", "default": 0, "doc": "x"})
    (folder / "v9.avsc").write_text(json.dumps(schema))
    with pytest.raises(SchemaStoreError, match="without gaps"):
        SchemaStore.load(root)


def test_rejects_a_version_with_the_same_wire_format(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    folder = root / "orders/events/OrderConfirmed"
    versions = sorted(folder.glob("v*.avsc"))
    schema = json.loads(versions[-1].read_text())
    schema["doc"] = "only the doc changed"
    (folder / f"v{len(versions) + 1}.avsc").write_text(json.dumps(schema))
    with pytest.raises(SchemaStoreError, match="same Parsing Canonical Form"):
        SchemaStore.load(root)


def test_rejects_a_record_in_the_wrong_directory(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    shutil.move(root / "orders/events/OrderConfirmed", root / "orders/events/Confirmed")
    with pytest.raises(SchemaStoreError, match="must match its directory"):
        SchemaStore.load(root)


def test_rejects_an_unparsable_schema(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / "orders/events/OrderConfirmed/v1.avsc").write_text('{"type": "record", "name": ')
    with pytest.raises(SchemaStoreError, match="OrderConfirmed/v1.avsc: cannot parse"):
        SchemaStore.load(root)


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SchemaStoreError, match="does not exist"):
        SchemaStore.load(tmp_path / "nowhere")
