"""Feeding sinks on threads, so reading and decoding the next batch overlaps the
store's work on this one (a chdb insert or a Redis pipeline releases the GIL).

An event a store refuses (a data error, see ``sinks.errors``) is skipped, counted and
logged with its position and the store's reason; the replay goes on. It is not parked
again: the live projection parked it on the dead-letter topic when it first met it, and
a replay runs over the same log as often as an operator likes, so parking here would
add a duplicate dead letter per run. An outage still stops the replay with its error.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence

from processors.projections.position import SourceEvent
from streams.runtime.projections.poison import write_isolating
from streams.runtime.projections.writes import feed

log = logging.getLogger(__name__)

_DONE = object()


class SinkWriter:
    """One thread that ``feed``s batches into one sink, in the order they were put.

    ``written`` counts the writes flushed, ``refused`` the events the store refused
    (skipped, see the module). A failure in the thread is re-raised by the
    next ``put`` or by ``close``; nothing after it is written.
    """

    def __init__(self, name: str, sink, depth: int = 2) -> None:
        self.name, self.sink = name, sink
        self.written = 0
        self.refused = 0
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
                written, refused = feed_skipping(self.sink, batch)
                self.written += written
                self.refused += refused
            except BaseException as exc:  # reported to the reading thread
                self.error = exc


def feed_skipping(sink, events: Sequence[SourceEvent]) -> tuple[int, int]:
    """``feed`` the events the store takes into ``sink``; (writes sent, events refused)."""
    written, refused = write_isolating(sink, events, feed)
    for event, reason in refused:
        log.warning(
            "replay skipped %s[%s]@%s (%s): %s (the live projection parked it on the "
            "dead-letter topic)",
            event.topic,
            event.partition,
            event.offset,
            event.name,
            reason,
        )
    return written, len(refused)


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
