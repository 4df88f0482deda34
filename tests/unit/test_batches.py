"""Batches of the deciding agents (streams/runtime/faust_fixes.py): a table write inside a batch
goes to the partition of the message made current, and a batch is acknowledged only once
handled, inside the commit fence, after the deliveries of its sends outside the
transaction.

The partition tests run a real Faust agent (``test_context``, ``memory://`` store, no
broker): Faust's own ``noack_take`` builds the batch and the table writes go through
``Table.partition_for_key``; the changelog records they make wait in the producer's buffer
(the producer never starts), where the test reads the partition each would be sent to.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from types import SimpleNamespace

import faust
import pytest
from faust.types import TP

from streams.runtime import faust_fixes
from streams.runtime.faust_fixes import (
    Batching,
    CommitFence,
    await_before_ack,
    handle_in_batches,
    make_current,
    unread_records,
)

pytestmark = pytest.mark.unit

# One message per partition, in the order the batch holds them: the last is partition 1.
PARTITIONS = (2, 0, 3, 1)


def changelog_partitions(app: faust.App) -> dict[str, int]:
    """Table key -> changelog partition of every table write waiting to be produced."""
    pending = app.producer.buffer.pending
    writes = {}
    while not pending.empty():
        message = pending.get_nowait().message
        writes[json.loads(message.key)] = message.partition
    return writes


def run_one_batch(write_batch) -> tuple[dict[str, int], list]:
    """Put one message per partition of ``PARTITIONS`` (key ``k<partition>``) to an agent
    handling its stream in batches with ``write_batch(table, batch)``; return the table's
    changelog partitions and what ``write_batch`` returned."""
    app = faust.App("batch-partitions", broker="kafka://127.0.0.1:1", store="memory://")
    source = app.topic("source", partitions=4, key_serializer="raw", value_serializer="raw")
    table = app.Table("state", partitions=4)
    handled = []
    done = asyncio.Event()

    @app.agent(source)
    async def agent(stream):
        async def handle_batch(batch: Sequence[faust.EventT]) -> None:
            handled.append(write_batch(table, batch))
            done.set()

        await handle_in_batches(stream, handle_batch, Batching(len(PARTITIONS), 10.0))

    async def run() -> None:
        async with agent.test_context() as agent_test:
            for partition in PARTITIONS:
                key = f"k{partition}".encode()
                await agent_test.put(b"v", key=key, partition=partition, wait=False)
            await asyncio.wait_for(done.wait(), 10)  # the batch is full: handled at once

    asyncio.run(run())
    return changelog_partitions(app), handled


def test_a_write_after_make_current_goes_to_that_messages_partition():
    """Each message's write lands in its own changelog partition, whatever other
    partitions the batch holds."""

    def write_batch(table, batch):
        for event in batch:
            make_current(event)
            table[event.key.decode()] = event.message.partition
        return [event.message.partition for event in batch]

    writes, handled = run_one_batch(write_batch)
    assert handled == [list(PARTITIONS)], "the four messages were not one batch"
    assert writes == {f"k{p}": p for p in PARTITIONS}


def test_without_make_current_a_write_goes_to_the_partition_of_the_last_current_message():
    """A write for a message made after another message was made current (as an
    end-of-batch state write would be without its own ``make_current``) lands in the
    other message's partition: the last one of the batch."""

    def write_batch(table, batch):
        for event in batch:
            make_current(event)
        for event in batch:
            table[event.key.decode()] = event.message.partition

    writes, _ = run_one_batch(write_batch)
    last = PARTITIONS[-1]
    assert writes == {f"k{p}": last for p in PARTITIONS}
    assert sum(writes[f"k{p}"] != p for p in PARTITIONS) == len(PARTITIONS) - 1


def test_a_batch_starts_with_no_current_message():
    """``noack_take`` fills the batch in another task, so the agent's own task has no
    current message at all: without ``make_current`` a table write fails outright."""

    def write_batch(table, batch):
        with pytest.raises(TypeError, match="outside of stream iteration"):
            table["k"] = 1
        return True

    writes, handled = run_one_batch(write_batch)
    assert handled == [True]
    assert writes == {}


class Event(str):
    """A fake event named for the log, at an offset of partition 0 of topic ``t``, fetched
    in consumer generation 1 (a name ending in ``"0"``: before it, generation 0)."""

    @property
    def message(self) -> SimpleNamespace:
        generation = 0 if self.endswith("0") else 1
        return SimpleNamespace(
            tp=TP("t", 0), topic="t", partition=0, offset=ord(self[0]), generation_id=generation
        )


class FakeStream:
    """The two stream methods ``handle_in_batches`` uses, recording acks in ``log``."""

    def __init__(self, batches: list[list[str]], log: list) -> None:
        self.batches = [[Event(e) for e in batch] for batch in batches]
        self.log = log
        self.taken_with: tuple[int, float] | None = None
        self.app = SimpleNamespace(consumer_generation_id=1, crash=self.crash)
        self.crashed: list[BaseException] = []

    async def crash(self, reason: BaseException) -> None:
        self.crashed.append(reason)

    async def noack_take(self, size: int, seconds: float):
        self.taken_with = (size, seconds)
        for batch in self.batches:
            yield batch

    async def ack(self, event: str) -> bool:
        await asyncio.sleep(0)  # give a waiting commit every chance to run in between
        self.log.append(f"ack {event}")
        return True


def test_a_batch_is_acked_after_it_is_handled_and_before_a_waiting_commit(monkeypatch):
    """A commit that starts while a batch is in hand runs once the batch is handled and
    every message of it acked, and the next batch waits for that commit."""
    monkeypatch.setattr(faust_fixes, "COMMIT_FENCE", CommitFence())
    log: list = []
    stream = FakeStream([["a", "b"], ["c"]], log)

    async def run() -> None:
        in_hand, release = asyncio.Event(), asyncio.Event()

        async def handle_batch(batch: Sequence[str]) -> None:
            log.append(f"handle {''.join(batch)}")
            if batch == ["a", "b"]:
                in_hand.set()
                await release.wait()
            log.append("handled")

        async def commit() -> None:
            async with faust_fixes.COMMIT_FENCE.committing():
                log.append("commit")

        batches = asyncio.create_task(handle_in_batches(stream, handle_batch, Batching(7, 0.5)))
        await in_hand.wait()
        committing = asyncio.create_task(commit())
        await asyncio.sleep(0)  # the commit closes the fence and waits for the batch
        assert log == ["handle ab"]
        release.set()
        await asyncio.wait_for(asyncio.gather(batches, committing), 5)

    asyncio.run(run())
    assert stream.taken_with == (7, 0.5)
    assert log == [
        *("handle ab", "handled", "ack a", "ack b"),
        "commit",
        *("handle c", "handled", "ack c"),
    ]


def test_messages_taken_before_a_rebalance_are_neither_handled_nor_acked(monkeypatch):
    """A batch taken in an older consumer generation may hold partitions this process no
    longer owns: only its current messages are handled and acked; the others' offsets stay
    uncommitted, so their partition's owner reads them again."""
    monkeypatch.setattr(faust_fixes, "COMMIT_FENCE", CommitFence())
    log: list = []
    stream = FakeStream([["a0", "b", "c0"]], log)

    async def handle_batch(batch: Sequence[str]) -> None:
        log.append(f"handle {' '.join(batch)}")

    asyncio.run(handle_in_batches(stream, handle_batch, Batching(3, 0.1)))
    assert log == ["handle b", "ack b"]


def test_a_held_fence_stays_closed_across_commits_until_released():
    """During a rebalance the fence is held: a commit in between does not let a batch in;
    ``release`` (the partitions assigned again) does."""
    fence = CommitFence()
    log: list = []

    async def run() -> None:
        fence.hold()

        async def batch() -> None:
            async with fence:
                log.append("batch")

        waiting = asyncio.create_task(batch())
        async with fence.committing():
            log.append("commit")
        await asyncio.sleep(0.05)
        assert log == ["commit"]  # still held after the commit
        fence.release()
        await asyncio.wait_for(waiting, 5)

    asyncio.run(run())
    assert log == ["commit", "batch"]


def test_a_batch_whose_handling_fails_is_not_acked_and_frees_the_fence(monkeypatch):
    """A batch that raises is left unacknowledged (redelivered after the restart), the
    app is crashed, and the fence does not hold the next commit (the final one) back."""
    monkeypatch.setattr(faust_fixes, "COMMIT_FENCE", CommitFence())
    log: list = []
    stream = FakeStream([["a"]], log)

    async def handle_batch(batch: Sequence[str]) -> None:
        raise RuntimeError("boom")

    async def run() -> None:
        await handle_in_batches(stream, handle_batch, Batching(1, 0.1))
        async with faust_fixes.COMMIT_FENCE.committing():
            log.append("commit")

    asyncio.run(asyncio.wait_for(run(), 5))
    assert log == ["commit"]
    assert [str(e) for e in stream.crashed] == ["boom"]


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

        stream = FakeStream([["a", "b"], ["c"]], log)
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

        await handle_in_batches(FakeStream([["a"]], log), handle_batch, Batching(10, 0.01))

    with pytest.raises(ConnectionError):
        asyncio.run(run())
    assert log == []


def test_unread_records_count_what_is_after_the_last_handled_message():
    async def handle_batch(batch: list[str]) -> None:
        return None

    asyncio.run(handle_in_batches(FakeStream([["a", "b"]], []), handle_batch, Batching()))
    consumer = SimpleNamespace(
        assignment=lambda: [TP("t", 0), TP("other", 0), TP("t", 1)],
        highwater=lambda tp: 200,  # the last stable offset: records up to 199
    )
    app = SimpleNamespace(consumer=consumer)
    # "b" (offset 98) was handled last on ("t", 0): 99..199 are unread; ("t", 1) was never
    # handled from and counts as nothing; "other" is not asked about.
    assert unread_records(app, frozenset({"t"})) == 101


def test_a_timer_commit_while_the_fence_is_held_commits_nothing(monkeypatch):
    """After a revocation's or a stop's final commit the transactions are ended: the
    commit timer must not try another commit (it failed outside a transaction and crashed
    the consumer, so a SIGTERM ended with exit 1), while the final commit itself runs."""
    fence = CommitFence()
    monkeypatch.setattr(faust_fixes, "COMMIT_FENCE", fence)
    commits: list[str] = []

    async def commit(self, *args, **kwargs) -> bool:
        commits.append(self)
        return True

    fenced = faust_fixes._fenced_commit(commit)
    consumer = SimpleNamespace(in_transaction=False, should_stop=False)

    async def run() -> tuple:
        fence.hold()
        timer = await fenced(consumer)
        token = faust_fixes._final_commit.set(True)
        try:
            final = await fenced(consumer)
        finally:
            faust_fixes._final_commit.reset(token)
        return timer, final

    assert asyncio.run(run()) == (False, True)
    assert commits == [consumer]


def test_a_bug_in_a_batch_stops_the_worker_with_nothing_of_the_batch_acked(monkeypatch, caplog):
    """The error policy: an exception from the agent's code is a bug, not bad input. The
    worker crashes (its supervisor restarts it), no message of the batch is acknowledged,
    so its offsets never commit and the restart reads it again, and no later batch is
    handled. The log names the batch's offsets once."""
    monkeypatch.setattr(faust_fixes, "COMMIT_FENCE", CommitFence())
    log: list = []
    stream = FakeStream([["a", "b"], ["c"]], log)
    bug = RuntimeError("a bug in decide")

    async def handle_batch(batch: Sequence[str]) -> None:
        log.append(f"handle {''.join(batch)}")
        raise bug

    with caplog.at_level("CRITICAL", logger=faust_fixes.__name__):
        asyncio.run(handle_in_batches(stream, handle_batch, Batching(2, 0.5)))
    assert stream.crashed == [bug]
    assert log == ["handle ab"]  # nothing acked, and the next batch never handled
    critical = [r for r in caplog.records if r.levelname == "CRITICAL"]
    assert len(critical) == 1
    assert "t[0]@97, t[0]@98" in critical[0].getMessage()
    assert "RuntimeError('a bug in decide')" in critical[0].getMessage()


def test_a_real_agent_that_raises_crashes_the_app_and_acks_nothing(monkeypatch):
    """The same through Faust (``test_context``): ``handle_each``'s handler raises on the
    second message; the app is crashed with that exception and no message of the batch is
    acknowledged (the first, handled, is not either: the batch is one unit)."""
    app = faust.App("error-policy", broker="kafka://127.0.0.1:1", store="memory://")
    source = app.topic("source", partitions=1, key_serializer="raw", value_serializer="raw")
    crashed: list[BaseException] = []
    done = asyncio.Event()
    handled: list[bytes] = []
    acked: list[bool] = []

    async def crash(reason: BaseException) -> None:
        crashed.append(reason)
        done.set()

    monkeypatch.setattr(app, "crash", crash)

    async def handle(event: faust.EventT) -> None:
        handled.append(event.value)
        if event.value == b"two":
            raise KeyError("status")

    @app.agent(source)
    async def agent(stream):
        original_ack = stream.ack

        async def ack(event):
            acked.append(True)
            return await original_ack(event)

        stream.ack = ack
        await faust_fixes.handle_each(stream, handle, Batching(3, 10.0))

    async def run() -> None:
        async with agent.test_context() as agent_test:
            for value in (b"one", b"two", b"three"):
                await agent_test.put(value, key=b"k", partition=0, wait=False)
            await asyncio.wait_for(done.wait(), 10)

    asyncio.run(run())
    assert [type(e) for e in crashed] == [KeyError]
    assert handled == [b"one", b"two"]  # stopped at the bug: "three" is not handled
    assert acked == []
