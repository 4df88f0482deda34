"""Upcasters: semantic schema changes that Avro reader/writer resolution cannot express.

Avro resolution handles added fields with defaults, aliases, promotions, enum defaults and
removed fields. When the *meaning* of data changes (a float amount becoming ``amount_cents``),
a small function registered here turns a body shaped like writer version ``N`` of a record
into a body shaped like version ``N + 1``. The codec resolves old records to version ``N``,
runs the upcaster, and resolves the result on to the latest version.

Upcasters are pure functions of the body: no I/O, deterministic, so replay gives the same
read models as the live pipeline.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Body = dict[str, Any]
Upcaster = Callable[[Body], Body]

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
