"""The dead-letter topic: bad input is parked with its reason, never dropped."""

from __future__ import annotations

import logging

import faust

from streams.adapters.codec import AvroCodec, DecodeError, EncodeError
from streams.config.clock import now_ms
from streams.messages import Message
from streams.runtime import metrics

log = logging.getLogger(__name__)

REASON = "orderflow.reason"
SOURCE_TOPIC = "orderflow.source.topic"
SOURCE_PARTITION = "orderflow.source.partition"
SOURCE_OFFSET = "orderflow.source.offset"
FINGERPRINT = "orderflow.fingerprint"
FAILED_AT = "orderflow.failed_at"

# Kinds of dead letter, the ``kind`` label of ``orderflow_dead_letters``: a small fixed
# set (the reason itself is free text, one series each would have no bound).
DECODE = "decode"  # bytes that are no message of a known schema
NOT_APPLICABLE = "not_applicable"  # a message the agent does not handle (a bug is no dead letter)
ENCODE = "encode"  # an outcome that its schema cannot hold
STORE_REFUSED = "store_refused"  # a value a read-model store refused


def dead_letter_headers(
    reason: str, topic: str, partition: int, offset: int, fingerprint: bytes | None = None
) -> list[tuple[str, bytes]]:
    """Kafka headers that say why a message was parked and where it came from."""
    headers = [
        (REASON, reason.encode()),
        (SOURCE_TOPIC, topic.encode()),
        (SOURCE_PARTITION, str(partition).encode()),
        (SOURCE_OFFSET, str(offset).encode()),
        (FAILED_AT, str(now_ms()).encode()),
    ]
    if fingerprint is not None:
        headers.append((FINGERPRINT, fingerprint.hex().encode()))
    return headers


class DeadLetters:
    """Sends the original key and bytes of a bad message to the dead-letter topic."""

    def __init__(self, topic: faust.TopicT) -> None:
        self.topic = topic

    async def decode(self, event: faust.EventT, codec: AvroCodec) -> Message | None:
        """The event's message, or None after parking bytes that do not decode."""
        try:
            return codec.decode(event.value)
        except DecodeError as exc:
            await self.park(event, exc.reason, exc.fingerprint, kind=DECODE)
            return None

    async def encode_or_park(
        self, event: faust.EventT, codec: AvroCodec, messages: list[Message], what: str
    ) -> list[bytes] | None:
        """``messages`` encoded, or None after parking ``event`` because one of them
        cannot be (a value its schema cannot hold: the error names the field).

        Agents encode a message's whole outcome before they store or send any of it, so
        an outcome that cannot be written is parked whole instead of half sent, or
        raised inside the agent and lost.
        """
        try:
            return [codec.encode(message) for message in messages]
        except EncodeError as exc:
            await self.park(event, f"cannot encode {what}: {exc}", kind=ENCODE)
            return None

    async def park(
        self, event: faust.EventT, reason: str, fingerprint: bytes | None = None, *, kind: str
    ):
        """Send ``event`` to the dead-letter topic; ``kind`` is one of the kinds above."""
        message = event.message
        metrics.DEAD_LETTERS.labels(kind).inc()  # rare: one increment per parked message
        log.warning(
            "dead-lettered %s[%s]@%s: %s", message.topic, message.partition, message.offset, reason
        )
        await self.topic.send(
            key=message.key,
            value=message.value,
            headers=dead_letter_headers(
                reason, message.topic, message.partition, message.offset, fingerprint
            ),
        )
