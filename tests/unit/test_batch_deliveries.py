"""Sends outside the transaction are delivered before their batch is acknowledged."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from faust.types import TP

from streams.faust_fixes import Batching, await_before_ack, handle_in_batches

pytestmark = pytest.mark.unit


class Event(str):
    """An event named for the log, at an offset of partition 0 of topic ``t``."""

    @property
    def message(self) -> SimpleNamespace:
        return SimpleNamespace(tp=TP("t", 0), offset=ord(self))


class BatchStream:
    """The two methods of a Faust stream that ``handle_in_batches`` uses."""

    def __init__(self, batches: list[list[str]], log: list[str]) -> None:
        self.batches, self.log = [[Event(e) for e in b] for b in batches], log

    async def noack_take(self, size: int, seconds: float):
        for batch in self.batches:
            yield batch

    async def ack(self, event: str) -> None:
        self.log.append(f"ack {event}")


def test_a_batch_is_acknowledged_only_after_its_deliveries_arrived():
    log: list[str] = []

    async def run() -> None:
        async def delivered(name: str) -> None:
            await asyncio.sleep(0.01)
            log.append(f"delivered {name}")

        async def handle_batch(batch: list[str]) -> None:
            for event in batch:
                assert await_before_ack(asyncio.ensure_future(delivered(event)))
                log.append(f"handled {event}")

        stream = BatchStream([["a", "b"], ["c"]], log)
        await handle_in_batches(stream, handle_batch, Batching(10, 0.01))

    asyncio.run(run())
    assert log == [
        "handled a", "handled b", "delivered a", "delivered b", "ack a", "ack b",
        "handled c", "delivered c", "ack c",
    ]  # fmt: skip


def test_outside_a_batch_the_sender_awaits_its_own_delivery():
    async def run() -> bool:
        delivery = asyncio.get_running_loop().create_future()
        delivery.set_result(None)
        return await_before_ack(delivery)

    assert asyncio.run(run()) is False


def test_a_failed_delivery_leaves_its_batch_unacknowledged():
    log: list[str] = []

    async def run() -> None:
        async def lost() -> None:
            raise ConnectionError("broker gone")

        async def handle_batch(batch: list[str]) -> None:
            await_before_ack(asyncio.ensure_future(lost()))

        await handle_in_batches(BatchStream([["a"]], log), handle_batch, Batching(10, 0.01))

    with pytest.raises(ConnectionError):
        asyncio.run(run())
    assert log == []


def test_unread_records_count_what_is_after_the_last_handled_message():
    from streams.faust_fixes import unread_records

    async def handle_batch(batch: list[str]) -> None:
        return None

    asyncio.run(handle_in_batches(BatchStream([["a", "b"]], []), handle_batch, Batching()))
    consumer = SimpleNamespace(
        assignment=lambda: [TP("t", 0), TP("other", 0), TP("t", 1)],
        highwater=lambda tp: 200,  # the last stable offset: records up to 199
    )
    app = SimpleNamespace(consumer=consumer)
    # "b" (offset 98) was handled last on ("t", 0): 99..199 are unread; ("t", 1) was never
    # handled from and counts as nothing; "other" is not asked about.
    assert unread_records(app, frozenset({"t"})) == 101
