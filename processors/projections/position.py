"""What a projection receives: an event together with where it sits in the log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streams.messages import Message


@dataclass(frozen=True, slots=True)
class SourceEvent:
    """One decoded event and its Kafka position.

    The position travels with the event so that ClickHouse rows can record where they
    came from and a batch can be named by its topic-partition-offset range (the insert
    deduplication token).
    """

    message: Message
    topic: str
    partition: int
    offset: int
    timestamp_ms: int

    @property
    def name(self) -> str:
        return self.message.name

    @property
    def body(self) -> dict[str, Any]:
        return self.message.body
