"""Feeding sinks on threads, so reading and decoding the next batch overlaps the
store's work on this one (a chdb insert or a Redis pipeline releases the GIL)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence

from processors.projections.agents import feed
from processors.projections.position import SourceEvent

_DONE = object()


class SinkWriter:
    """One thread that ``feed``s batches into one sink, in the order they were put.

    ``written`` counts the writes flushed. A failure in the thread is re-raised by the
    next ``put`` or by ``close``; nothing after it is written.
    """

    def __init__(self, name: str, sink, depth: int = 2) -> None:
        self.name, self.sink = name, sink
        self.written = 0
        self.error: BaseException | None = None
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._thread = threading.Thread(target=self._run, name=f"replay-{name}", daemon=True)
        self._thread.start()

    def put(self, batch: Sequence[SourceEvent]) -> None:
        while True:
            self._raise_if_failed()
            try:
                self._queue.put(batch, timeout=0.5)
                return
            except queue.Full:
                continue

    def close(self, discard: bool = False) -> None:
        """Finish the queued batches (or drop them with ``discard``) and stop."""
        if discard:
            while True:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break
        while self._thread.is_alive():
            try:
                self._queue.put(_DONE, timeout=0.5)
                break
            except queue.Full:
                continue
        self._thread.join()
        if not discard:
            self._raise_if_failed()

    def _raise_if_failed(self) -> None:
        if self.error is not None:
            raise RuntimeError(f"writing to {self.name} failed: {self.error}") from self.error

    def _run(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is _DONE:
                return
            if self.error is not None:
                continue  # drain: nothing is written after a failure
            try:
                self.written += feed(self.sink, batch)
            except BaseException as exc:  # reported to the reading thread
                self.error = exc


def feed_all(writers: list[SinkWriter], batches, discard_on_error: bool = True) -> None:
    """Put every batch to every writer, then close them; on any error (Ctrl-C
    included) the queued batches are dropped and the error propagates."""
    try:
        for batch in batches:
            for writer in writers:
                writer.put(batch)
    except BaseException:
        for writer in writers:
            writer.close(discard=discard_on_error)
        raise
    for writer in writers:
        writer.close()
