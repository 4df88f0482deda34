"""The interface every read-model writer offers to ``processors.projections.project``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Sink(Protocol):
    """A batched, idempotent writer for one storage technology.

    ``handlers`` maps an event name to a pure function that turns a positioned event
    into this sink's writes. ``add`` only buffers; ``flush`` sends everything buffered
    in as few round trips as the technology allows and returns how many writes it sent.
    Sending the same writes again (redelivery, replay, a batch retried after a crash
    between write and offset commit) leaves the stored state unchanged. A flush that
    raises keeps its writes buffered, so calling ``flush`` again retries them.
    ``discard`` forgets the buffered writes instead (a refused batch is fed again in
    parts to find the event the store refuses). ``close`` flushes what is left; the
    client belongs to the caller and stays open. ``store`` names the technology in
    messages. Methods are synchronous; async callers run them in a thread.
    """

    handlers: Mapping[str, Callable[[Any], Sequence[Any]]]
    store: str

    def add(self, writes: Iterable[Any]) -> None: ...

    def flush(self) -> int: ...

    def discard(self) -> None: ...

    def close(self) -> None: ...
