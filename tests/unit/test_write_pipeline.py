"""WritePipeline: one batch in flight, batches written in order, a batch's ``done``
only after its write, shutdown waits without cancelling."""

from __future__ import annotations

import asyncio

import pytest

from processors.projections.pipeline import WritePipeline

pytestmark = pytest.mark.unit


class Recorder:
    def __init__(self, delay: float = 0.01) -> None:
        self.delay = delay
        self.log: list[tuple[str, object]] = []
        self.in_flight = 0
        self.most_in_flight = 0

    async def write(self, events) -> None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        self.log.append(("start", events[0]))
        await asyncio.sleep(self.delay)
        self.log.append(("written", events[0]))
        self.in_flight -= 1

    def done(self, batch):
        async def mark(_written: object) -> None:
            self.log.append(("done", batch))

        return mark


def test_batches_are_written_one_at_a_time_in_order_and_done_follows_each_write():
    recorder = Recorder()

    async def run() -> None:
        pipeline = WritePipeline(recorder.write)
        for n in range(4):
            await pipeline.submit([n], recorder.done(n))
        await pipeline.drain()

    asyncio.run(run())
    assert recorder.most_in_flight == 1
    expected = [(step, n) for n in range(4) for step in ("start", "written", "done")]
    assert recorder.log == expected


def test_submit_returns_while_the_batch_is_still_being_written():
    recorder = Recorder(delay=0.05)

    async def run() -> list:
        pipeline = WritePipeline(recorder.write)
        await pipeline.submit(["a"], recorder.done("a"))
        await asyncio.sleep(0)  # let the write start
        seen = list(recorder.log)  # the caller could fetch and decode now
        await pipeline.drain()
        return seen

    assert asyncio.run(run()) == [("start", "a")]
    assert recorder.log[-1] == ("done", "a")


def test_an_empty_batch_is_not_written_but_is_still_done():
    recorder = Recorder()

    async def run() -> None:
        pipeline = WritePipeline(recorder.write)
        await pipeline.submit([], recorder.done("parked only"))
        await pipeline.drain()

    asyncio.run(run())
    assert recorder.log == [("done", "parked only")]


def test_finish_gives_up_without_cancelling_and_without_running_done():
    recorder = Recorder(delay=0.3)

    async def run() -> tuple[bool, bool]:
        pipeline = WritePipeline(recorder.write)
        await pipeline.submit(["slow"], recorder.done("slow"))
        gave_up = await pipeline.finish(timeout=0.01)
        still_done = ("done", "slow") in recorder.log
        await pipeline.drain()  # the write was not cancelled: it completes
        return gave_up, still_done

    finished, done_early = asyncio.run(run())
    assert finished is False
    assert done_early is False
    assert recorder.log[-2:] == [("written", "slow"), ("done", "slow")]


def test_a_failed_write_surfaces_at_the_next_submit_and_its_batch_is_not_done():
    log: list[str] = []

    async def failing(events) -> None:
        raise RuntimeError("store refused")

    async def done() -> None:
        log.append("done")

    async def run() -> None:
        pipeline = WritePipeline(failing)
        await pipeline.submit([1], done)
        await pipeline.submit([2], done)

    with pytest.raises(RuntimeError, match="store refused"):
        asyncio.run(run())
    assert log == []
