"""``orderflow schemas check``: the offline gate that rejects a breaking schema change,
naming the record, the field and the reason; plus ``schemas list`` and ``schemas show``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from streams.adapters.compatibility import check_store, pairs_to_check
from streams.adapters.schema_store import SchemaStore
from streams.cli.schemas import schemas

pytestmark = pytest.mark.evolution


def _run(*args: str, schemas_dir: Path | None = None):
    prefix = ["--schemas-dir", str(schemas_dir)] if schemas_dir else []
    return CliRunner().invoke(schemas, [*prefix, *args])


def _add_version(root: Path, group: str, name: str, edit) -> Path:
    folder = root / group / name
    latest = sorted(folder.glob("v*.avsc"), key=lambda p: int(p.stem[1:]))[-1]
    schema = json.loads(latest.read_text())
    edit(schema)
    path = folder / f"v{int(latest.stem[1:]) + 1}.avsc"
    path.write_text(json.dumps(schema, indent=2))
    return path


def _field(schema: dict, name: str) -> dict:
    return next(f for f in schema["fields"] if f["name"] == name)


def test_the_repository_schemas_pass() -> None:
    result = _run("check")
    assert result.exit_code == 0, result.output
    assert "compatible under their policies" in result.output


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("BACKWARD", [(2, 1), (3, 2)]),
        ("BACKWARD_TRANSITIVE", [(2, 1), (3, 1), (3, 2)]),
        ("FORWARD", [(1, 2), (2, 3)]),
        ("FULL", [(2, 1), (1, 2), (3, 2), (2, 3)]),
        ("FULL_TRANSITIVE", [(2, 1), (1, 2), (3, 1), (1, 3), (3, 2), (2, 3)]),
        ("NONE", []),
    ],
)
def test_pairs_follow_the_policy(policy: str, expected: list) -> None:
    assert list(pairs_to_check(policy, 3)) == expected


def test_added_field_without_default_is_rejected(schemas_copy: Path) -> None:
    _add_version(
        schemas_copy,
        "orders/events",
        "OrderCreated",
        lambda s: s["fields"].append({"name": "coupon", "type": "string", "doc": "A coupon."}),
    )
    result = _run("check", schemas_dir=schemas_copy)
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if "OrderCreated" in line]
    assert len(lines) == 2  # v3 against v1 and against v2: BACKWARD_TRANSITIVE
    assert all("field coupon" in line and "without a default" in line for line in lines)
    assert "v3 cannot read v1 data" in lines[0]


def test_nested_type_change_names_the_nested_field(schemas_copy: Path) -> None:
    def quantity_as_string(schema: dict) -> None:
        _field(_field(schema, "items")["type"]["items"], "quantity")["type"] = "string"

    _add_version(schemas_copy, "orders/events", "OrderCreated", quantity_as_string)
    problems = check_store(SchemaStore.load(schemas_copy))
    assert {(p.record, p.field, p.kind) for p in problems} == {
        ("OrderCreated", "items[].quantity", "type_mismatch")
    }


def test_full_policy_rejects_removing_a_field_old_readers_need(schemas_copy: Path) -> None:
    def drop_reason_code(schema: dict) -> None:
        schema["fields"] = [f for f in schema["fields"] if f["name"] != "command_id"]

    _add_version(schemas_copy, "orders/results", "CommandResult", drop_reason_code)
    problems = check_store(SchemaStore.load(schemas_copy))
    # Backward is fine (the new reader ignores it); forward breaks v1 and v2 readers.
    assert sorted((p.reader_version, p.writer_version, p.field) for p in problems) == [
        (1, 3, "command_id"),
        (2, 3, "command_id"),
    ]


def test_added_enum_symbol_is_safe_only_because_v1_declared_a_default(
    schemas_copy: Path,
) -> None:
    v1 = schemas_copy / "orders/results/CommandResult/v1.avsc"
    schema = json.loads(v1.read_text())
    _field(schema, "status")["type"].pop("default")  # as if v1 had not declared one
    v1.write_text(json.dumps(schema))
    problems = check_store(SchemaStore.load(schemas_copy))
    assert [(p.reader_version, p.writer_version, p.field, p.kind) for p in problems] == [
        (1, 2, "status", "missing_enum_symbols")
    ]
    assert "failed" in problems[0].detail


def test_forward_policy_catches_a_promotion(schemas_copy: Path) -> None:
    policy_path = schemas_copy / "compatibility.json"
    policy = json.loads(policy_path.read_text())
    policy["records"] = {"OrderShipped": "FULL"}
    policy_path.write_text(json.dumps(policy))
    result = _run("check", "--json", schemas_dir=schemas_copy)
    assert result.exit_code == 1
    problems = json.loads(result.stdout)
    assert {(p["record"], p["reader_version"], p["field"]) for p in problems} == {
        ("OrderShipped", 1, "weight_kg"),  # double does not narrow to float
    }


def test_bad_policy_file_is_a_one_line_error(schemas_copy: Path) -> None:
    (schemas_copy / "compatibility.json").write_text(json.dumps({"default": "SIDEWAYS"}))
    result = _run("check", schemas_dir=schemas_copy)
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "SIDEWAYS" in result.output


def test_list_json_has_every_version_with_its_fingerprint(store: SchemaStore) -> None:
    result = _run("list", "--json")
    assert result.exit_code == 0
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert set(rows) == set(store.names())
    shipped = rows["OrderShipped"]
    assert [v["fingerprint"] for v in shipped["versions"]] == [
        sv.fingerprint_hex for sv in store.versions("OrderShipped")
    ]
    assert rows["CommandResult"]["policy"] == "FULL_TRANSITIVE"


def test_show_a_version(store: SchemaStore) -> None:
    result = _run("show", "OrderShipped", "--version", "1", "--json")
    assert result.exit_code == 0
    shown = json.loads(result.output)
    assert shown["version"] == 1
    assert shown["fingerprint"] == store.version("OrderShipped", 1).fingerprint_hex
    assert "shipping_cost" in [f["name"] for f in shown["schema"]["fields"]]
    assert "v2" in _run("show", "OrderShipped").output.splitlines()[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("show", "NoSuchRecord"), "unknown record 'NoSuchRecord'"),
        (("show", "OrderShipped", "--version", "9"), "has no version 9"),
    ],
)
def test_bad_arguments_are_one_line_errors(args: tuple, message: str) -> None:
    result = _run(*args)
    assert result.exit_code != 0
    assert result.output.strip().count("\n") == 0 and message in result.output
