"""One batch written while the next is fetched and decoded.

The projection's time per batch is fetch + decode (the event loop) then write (a thread
packing and waiting on Redis, chdb running its insert — both mostly outside the GIL).
Run one after the other, each waits for the other; ``WritePipeline`` overlaps them:
``submit`` starts writing a batch in the background and returns, so the caller goes on
to fetch and decode the next batch, and only the *next* ``submit`` waits for this write.

Two rules keep it correct:

- at most one batch is being written, and batches are written in the order submitted:
  a sink never sees batch N+1 before batch N (the Redis script drops a whole update
  older than the stored version, so order matters for the fields an update carries);
- a batch's ``done`` callback (the agent acknowledges its events there, which lets Faust
  commit their offsets) runs only after every sink has written the batch, and receives
  what the write returned (the events the stores refused, which it parks first). A
  crash before that re-delivers the batch, and the idempotent sinks absorb the repeat.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from processors.projections.position import SourceEvent

log = logging.getLogger(__name__)

Write = Callable[[Sequence[SourceEvent]], Awaitable[object]]
Done = Callable[[object], Awaitable[object]]  # called with what ``write`` returned


class WritePipeline:
    def __init__(
        self, write: Write, on_error: Callable[[BaseException], Awaitable[object]] | None = None
    ) -> None:
        self._write = write
        self._on_error = on_error
        self._in_flight: asyncio.Task[None] | None = None

    async def submit(self, events: Sequence[SourceEvent], done: Done | None = None) -> None:
        """Wait for the batch in flight, then start writing ``events``; ``done`` runs
        once they are written, with what the write returned (None for no events)."""
        await self.drain()
        self._in_flight = asyncio.ensure_future(self._write_then(events, done))

    async def drain(self) -> None:
        """Wait until the batch in flight (if any) is written and its ``done`` has run."""
        await self.finish(timeout=None)

    async def finish(self, timeout: float | None) -> bool:
        """``drain`` giving up after ``timeout`` seconds (shutdown). The write is never
        cancelled, not even when the waiter is: its thread cannot be interrupted, and a
        sink closed under it would race it. False: still writing."""
        task = self._in_flight
        if task is None:
            return True
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            return False
        self._in_flight = None
        task.result()  # re-raise what the write raised
        return True

    async def _write_then(self, events: Sequence[SourceEvent], done: Done | None) -> None:
        try:
            written = await self._write(events) if events else None
            if done is not None:
                await done(written)
        except Exception as exc:
            # Said now, not at the next ``submit``: that may never come (a rebalance waits
            # for this batch's acknowledgement before it lets the next batch in). Once:
            # ``on_error`` (the app's crash) logs it itself.
            if self._on_error is None:
                log.exception("writing a batch of %d events failed", len(events))
            else:
                await self._on_error(exc)
            raise
