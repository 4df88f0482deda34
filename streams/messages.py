"""The in-memory shape of every Avro message the pipeline handles."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Message:
    """One Avro record: its record name (e.g. ``OrderCreated``) and its fields.

    ``body`` always has the shape of the *current* reader schema of ``name``: the codec
    resolves whatever version wrote the bytes (and runs upcasters) before building it.
    """

    name: str
    body: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.body[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.body.get(key, default)
