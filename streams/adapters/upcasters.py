"""Upcasters: semantic schema changes that Avro reader/writer resolution cannot express.

Avro resolution handles added fields with defaults, aliases, promotions, enum defaults and
removed fields. When the *meaning* of data changes (a float amount becoming ``amount_cents``),
a small function registered under ``(record, N)`` finishes the step from version ``N`` to
``N + 1``: it receives ``body``, the record already resolved by Avro to version ``N + 1``, and
``written``, the same record shaped like version ``N``, and returns the version ``N + 1`` body.
Avro does everything it can express (renames, defaults, promotions); the upcaster fixes only
the meaning. The codec then resolves the result on to the latest version.

Upcasters are pure functions of the body: no I/O, deterministic, so replay gives the same
read models as the live pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streams.messages import Record

Body = dict[str, Any]
Upcaster = Callable[[Body, Body], Body]

UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def upcaster(record: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register the decorated function as the upcaster of ``record`` from ``from_version``."""

    def register(fn: Upcaster) -> Upcaster:
        key = (record, from_version)
        if key in UPCASTERS:
            raise ValueError(f"an upcaster for {record} v{from_version} is already registered")
        UPCASTERS[key] = fn
        return fn

    return register


@upcaster(Record.ORDER_SHIPPED, 1)
def shipping_cost_to_cents(body: Body, written: Body) -> Body:
    """v1 carried ``shipping_cost`` as a float in major units; v2 has ``shipping_cost_cents``
    as a long. Avro resolution drops the float and gives the default 0; restore the amount."""
    return {**body, "shipping_cost_cents": round(written["shipping_cost"] * 100)}
