"""Times given on the command line: ISO-8601 with a zone, a relative age, or ``earliest``.

ISO-8601 is read by ``datetime.fromisoformat``, which since Python 3.11 takes ``Z``, week
dates and the basic format as python-dateutil's ``isoparse`` does. Written here are only
the project's rules around it (a zone required, nothing in the future or before 1970) and
ages of one unit: one regex, where pytimeparse (no release since 2018) would also take
``1.5h`` and ``1h30m`` and still leave the refusals to write.
"""

from __future__ import annotations

import datetime as dt
import re

EARLIEST = "earliest"
# Events carry epoch milliseconds, and Kafka finds offsets only for times from 1970 on.
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_AGE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class TimeParseError(ValueError):
    """A time the user typed that cannot be understood; the message says what is accepted."""


def parse_time(raw: str, now: dt.datetime | None = None) -> dt.datetime | None:
    """A timezone-aware datetime, or None for ``earliest``.

    Accepts ``2026-11-26T10:00:00+01:00`` / ``...Z`` (a zone is required: a naive time
    is ambiguous across machines), a relative age such as ``90s``, ``15m``, ``2h``,
    ``3d``, ``1w``, or ``earliest``. Future times are refused, and so are times before
    1970-01-01 (an age such as ``99999999d`` reaches far past them): no event is older.
    """
    now = now or dt.datetime.now(dt.UTC)
    text = raw.strip()
    if text.lower() == EARLIEST:
        return None
    age = _AGE.match(text.lower())
    if age:
        return _age(raw, now, age.group(1), _UNITS[age.group(2)])
    try:
        value = dt.datetime.fromisoformat(text.replace("z", "Z"))  # RFC 3339 allows z
    except ValueError:
        raise TimeParseError(
            f"cannot read time {raw!r}: use ISO-8601 with a zone (2026-11-26T10:00:00Z), "
            "an age such as 2h or 30m, or 'earliest'"
        ) from None
    if value.tzinfo is None:
        raise TimeParseError(f"time {raw!r} has no zone: add Z or an offset such as +01:00")
    if value > now + dt.timedelta(seconds=1):
        raise TimeParseError(f"time {raw!r} is in the future")
    if value < EPOCH:
        raise TimeParseError(f"time {raw!r} is before 1970-01-01, older than any event")
    return value


def _age(raw: str, now: dt.datetime, count: str, unit_seconds: int) -> dt.datetime:
    """``now`` minus an age, refused when it reaches before the epoch (checked on the
    number first: ``timedelta`` and ``int`` overflow long before an age gets absurd)."""
    most = (now - EPOCH).total_seconds()
    if len(count) > 20 or int(count) * unit_seconds > most:
        raise TimeParseError(f"age {raw!r} reaches before 1970-01-01, older than any event")
    return now - dt.timedelta(seconds=int(count) * unit_seconds)


def to_millis(value: dt.datetime) -> int:
    return int(value.timestamp() * 1000)


def from_millis(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat(timespec="milliseconds")
