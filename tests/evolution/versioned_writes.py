"""Write records as an older schema version, to build mixed-version logs in tests.

``write_with_version(codec, msg, version)`` takes a Message shaped like the *latest* version
(what domain code builds) and encodes it with an older writer version: fields the old version
lacks are dropped, fields renamed since (with an alias) get their old name back, and semantic
changes that have an upcaster are reversed by the matching entry of ``DOWNCASTERS``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streams.adapters.codec import AvroCodec
from streams.messages import Message

Body = dict[str, Any]

# (record, version) -> fn(latest_body, old_body) -> old_body: the inverse of the upcaster
# registered under the same key in streams.adapters.upcasters.
DOWNCASTERS: dict[tuple[str, int], Callable[[Body, Body], Body]] = {
    ("OrderShipped", 1): lambda latest, old: {
        **old,
        "shipping_cost": latest.get("shipping_cost_cents", 0) / 100,
    },
}


def write_with_version(codec: AvroCodec, msg: Message, version: int) -> bytes:
    """Encode latest-shaped ``msg`` with writer version ``version`` of its record."""
    old = downcast(codec, msg, version)
    return codec.encode(old, version=version)


def downcast(codec: AvroCodec, msg: Message, version: int) -> Message:
    """``msg`` (latest shape) reshaped for version ``version`` of its record."""
    latest = codec.store.latest(msg.name).schema
    target = codec.store.version(msg.name, version).schema
    body = _project(msg.body, latest, target)
    downcaster = DOWNCASTERS.get((msg.name, version))
    return Message(msg.name, downcaster(msg.body, body) if downcaster else body)


def _project(value: Any, source: Any, target: Any) -> Any:
    source, target = _unwrap(source), _unwrap(target)
    if _is(target, "record") and isinstance(value, dict):
        by_old_name = {}
        for field in source["fields"]:
            for name in [field["name"], *field.get("aliases", [])]:
                by_old_name.setdefault(name, field)
        projected = {}
        for field in target["fields"]:
            src = by_old_name.get(field["name"])
            if src is not None and src["name"] in value:
                projected[field["name"]] = _project(value[src["name"]], src, field)
        return projected
    if _is(target, "array") and isinstance(value, list):
        return [_project(v, source["items"], target["items"]) for v in value]
    return value


def _unwrap(schema: Any) -> Any:
    """A field's type, or the schema itself."""
    if isinstance(schema, dict) and "name" in schema and "fields" not in schema:
        return schema["type"]
    return schema


def _is(schema: Any, kind: str) -> bool:
    return isinstance(schema, dict) and schema.get("type") == kind
