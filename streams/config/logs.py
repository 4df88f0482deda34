"""Logs that stay readable under faults.

While Kafka is down, aiokafka, kafka-python, Faust and mode retry for ever and log every
attempt: about 4,700 ERROR lines in 40 s, most with a traceback, were seen before this
filter. :class:`RepeatFilter` keeps the first record of each kind (same logger, same
message template) and counts the repeats that follow within a window; the count is
written once, as a line of its own, when the window has closed and the next record
passes through. An expected connection error of a Kafka client becomes one line that
says what to do, without its traceback.

:func:`install` puts one filter on every handler of the root logger; the CLI calls it
after configuring logging, the Faust worker (``streams.app``'s ``Worker``) after Faust
has configured it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from streams.config import redact

WINDOW_SECONDS = 30.0
# The loggers of the Kafka clients and of the frameworks that log their errors again.
KAFKA_LOGGERS = frozenset({"aiokafka", "kafka", "faust", "mode"})
# Errors that mean "the broker is not reachable (yet)": the clients retry on their own.
CONNECTION_ERRORS = frozenset(
    {
        "KafkaConnectionError",
        "NodeNotReadyError",
        "NoBrokersAvailable",
        "RequestTimedOutError",
        "KafkaTimeoutError",
        "CoordinatorNotAvailableError",
        "GroupCoordinatorNotAvailableError",
        "NotCoordinatorError",
        "NotCoordinatorForGroupError",
        "LeaderNotAvailableError",
        "NotLeaderForPartitionError",
        "NotLeaderOrFollowerError",
        "UnknownTopicOrPartitionError",
    }
)
HINT = "Kafka unreachable; retrying (check `orderflow stack status` and KAFKA_BOOTSTRAP_SERVERS)"
_DECIDED = "_orderflow_repeat_decision"
_SUMMARY = "_orderflow_repeat_summary"


@dataclass
class _Window:
    opened: float
    level: int
    text: str
    repeats: int = 0


class RepeatFilter(logging.Filter):
    """Rate-limits repeated records of ``level`` and above (warnings and errors): per
    (logger, message template), the first record of a ``window`` passes, the rest are
    counted and summarised once the window closes.

    One instance serves every handler it is installed on: a record is decided once (the
    decision travels on the record), so each handler prints or drops the same records.
    """

    def __init__(
        self,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        level: int = logging.WARNING,
    ) -> None:
        super().__init__()
        self.window, self.clock, self.level = window, clock, level
        self.windows: dict[tuple[str, str], _Window] = {}
        self.handlers: list[logging.Handler] = []
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        decided = getattr(record, _DECIDED, None)
        if decided is not None or getattr(record, _SUMMARY, False):
            return decided is not False
        if record.levelno < self.level:
            return True  # e.g. Faust's "Creating topic %r" at start: each one says something
        key = (record.name, str(record.msg))
        now = self.clock()
        with self._lock:
            closed = self._close_windows(now)
            window = self.windows.get(key)
            if window is None:
                quiet_connection_error(record)
                self.windows[key] = _Window(now, record.levelno, _short(record.getMessage()))
                passes = True
            else:
                window.repeats += 1
                passes = False
        setattr(record, _DECIDED, passes)
        for name, window in closed:
            self._summarise(name, window, now)
        return passes

    def flush(self) -> None:
        """Write the summaries of every window with repeats now (e.g. at shutdown)."""
        now = self.clock()
        with self._lock:
            pending = [(k[0], w) for k, w in self.windows.items() if w.repeats]
            self.windows.clear()
        for name, window in pending:
            self._summarise(name, window, now)

    def _close_windows(self, now: float) -> list[tuple[str, _Window]]:
        ended = [k for k, w in self.windows.items() if now - w.opened >= self.window]
        closed = [(k[0], self.windows.pop(k)) for k in ended]
        return [(name, w) for name, w in closed if w.repeats]

    def _summarise(self, name: str, window: _Window, now: float) -> None:
        seconds = max(1, round(now - window.opened))
        summary = logging.getLogger(name).makeRecord(
            name, window.level, "(orderflow.logs)", 0,
            "%s ... repeated %d times in the last %d s", (window.text, window.repeats, seconds),
            None,
        )  # fmt: skip
        setattr(summary, _SUMMARY, True)
        for handler in self.handlers:
            if summary.levelno >= handler.level:
                handler.handle(summary)


def quiet_connection_error(record: logging.LogRecord) -> None:
    """A Kafka client's expected connection error: one line with what to do, no traceback."""
    if not record.exc_info or not KAFKA_LOGGERS & set(record.name.split(".")):
        return
    error = record.exc_info[1]
    if not is_connection_error(error):
        return
    text = f"{record.getMessage()}: {type(error).__name__}: {error} ({HINT})"
    record.msg, record.args = text, ()  # no args: the text is not formatted again
    record.exc_info, record.exc_text = None, None


def is_connection_error(error: BaseException | None) -> bool:
    """Whether ``error``, or an error it was raised from, means the broker is unreachable."""
    for _ in range(5):  # causes and contexts: a few links are enough
        if error is None:
            return False
        names = {cls.__name__ for cls in type(error).__mro__}
        if isinstance(error, OSError) or names & CONNECTION_ERRORS:
            return True
        error = error.__cause__ or error.__context__
    return False


def install(logger: logging.Logger | None = None, window: float = WINDOW_SECONDS) -> RepeatFilter:
    """One :class:`RepeatFilter` and one ``redact.SecretFilter`` on every handler of
    ``logger`` (the root logger); a handler that already has them keeps them."""
    logger = logger or logging.getLogger()
    redact.install(logger)  # no password in any line, the repeat summaries included
    repeat = RepeatFilter(window)
    for handler in logger.handlers:
        if not any(isinstance(f, RepeatFilter) for f in handler.filters):
            handler.addFilter(repeat)
            repeat.handlers.append(handler)
    return repeat


def _short(text: str, limit: int = 200) -> str:
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= limit else line[: limit - 3] + "..."
