"""Client side of the write model: send commands, wait for their outcomes.

Used by ``orderflow orders create|cancel``, the demo and the tests. Commands are keyed by
order id so every command of an order lands in the same partition, in order.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError
from kafka.producer.future import FutureRecordMetadata

from streams.adapters.admin import KafkaUnavailable, unavailable_message
from streams.adapters.codec import AvroCodec, DecodeError
from streams.adapters.kafka_clients import kafka_python_config
from streams.config.clock import now_ms
from streams.config.settings import Settings
from streams.config.topics import COMMAND_RESULTS, ORDER_COMMANDS
from streams.messages import Message


def new_command(name: str, order_id: str, correlation_id: str | None = None, **fields: Any):
    """A command message with a fresh command id and the common command envelope."""
    return Message(
        name,
        {
            "command_id": str(uuid.uuid4()),
            "order_id": order_id,
            "expected_version": fields.pop("expected_version", None),
            "issued_at": now_ms(),
            "correlation_id": correlation_id or str(uuid.uuid4()),
            **fields,
        },
    )


class CommandClient:
    """Sends commands to ``orders.commands`` and reads ``orders.command-results``."""

    def __init__(self, settings: Settings, codec: AvroCodec) -> None:
        self.settings = settings
        self.codec = codec
        try:
            self.producer = KafkaProducer(
                **kafka_python_config(settings),
                acks="all",
                linger_ms=5,
                client_id=f"{settings.app_id}-client",
            )
        except KafkaError as exc:
            raise KafkaUnavailable(unavailable_message(settings.kafka_bootstrap_servers)) from exc
        self._results: KafkaConsumer | None = None
        # Every outcome read so far: a wait for some commands must not lose the outcomes of
        # others that arrive in between (a later wait asks for them).
        self._outcomes: dict[str, Message] = {}

    def start_listening(self) -> None:
        """Position a reader at the end of the results topic before sending commands."""
        consumer = KafkaConsumer(
            **kafka_python_config(self.settings),
            enable_auto_commit=False,
            isolation_level="read_committed",
            consumer_timeout_ms=200,
        )
        name = self.settings.topic(COMMAND_RESULTS.name)
        partitions = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or []]
        if not partitions:  # no results topic: the commands topic is missing too
            consumer.close()
            raise KafkaUnavailable(f"topic {name} does not exist: run `orderflow topics create`")
        consumer.assign(partitions)
        consumer.seek_to_end(*partitions)
        for tp in partitions:  # resolve the lazy seek now, not after our commands are answered
            consumer.position(tp)
        self._results = consumer

    def send(self, command: Message, topic: str = ORDER_COMMANDS.name) -> FutureRecordMetadata:
        """Send ``command`` keyed by its order id to ``topic`` (a base topic name); the
        future tells where it landed (or why not) once delivered."""
        return self.producer.send(
            self.settings.topic(topic),
            key=command["order_id"].encode(),
            value=self.codec.encode(command),
        )

    def send_raw(self, key: bytes, value: bytes) -> None:
        """Send bytes as they are (tests and the demo use this to show the dead-letter path)."""
        self.producer.send(self.settings.topic(ORDER_COMMANDS.name), key=key, value=value)

    def flush(self) -> None:
        self.producer.flush()

    def wait_for_results(self, command_ids: Iterable[str], timeout: float) -> dict[str, Message]:
        """Outcomes by command id; returns what arrived when ``timeout`` seconds ran out."""
        if self._results is None:
            raise RuntimeError("call start_listening() before sending commands")
        wanted = set(command_ids)
        deadline = time.monotonic() + timeout
        while wanted - self._outcomes.keys() and time.monotonic() < deadline:
            for record in self._results:
                try:
                    result = self.codec.decode(record.value)
                except DecodeError:
                    continue
                # The first outcome wins: a redelivered command repeats it anyway.
                self._outcomes.setdefault(result["command_id"], result)
        return {c: self._outcomes[c] for c in wanted if c in self._outcomes}

    def close(self) -> None:
        self.producer.close(timeout=5)
        if self._results is not None:
            self._results.close()
