"""Is a failed write the data's fault or the store's? The answer decides what happens.

A **data** error means this write can never be stored, however often it is retried: a
value outside the column's type (ClickHouse ``UInt32`` and a quantity of 2^32), a key
holding the wrong kind of value (Redis ``WRONGTYPE``), an event the projection's
mapping cannot read. The projection finds the event(s) that cause it and parks them on
the dead-letter topic, and the line goes on.

An **outage** means the store cannot be used right now: connection refused, a timeout,
a server that is loading, read-only, out of memory or out of disk, a table someone
dropped. Those are retried with back-off, never dead-lettered: a Redis or ClickHouse
outage must not empty the read model into the dead-letter topic.

Anything not known to be a data error counts as an outage. A wrong "outage" only delays
the read model (the batch is retried and the log says why); a wrong "data" error would
move good events out of it.
"""

from __future__ import annotations

import struct

import redis
from clickhouse_connect.driver.exceptions import DatabaseError as ClickHouseDatabaseError
from clickhouse_connect.driver.exceptions import DataError as ClickHouseDataError
from clickhouse_connect.driver.exceptions import OperationalError as ClickHouseOperationalError

# ClickHouse server error codes that name the row, not the server: parsing, type, range
# and constraint errors. Everything else (memory, disk, timeouts, unknown table, too many
# parts, ...) is the server's condition and is retried.
CLICKHOUSE_DATA_CODES = frozenset(
    {
        6,  # CANNOT_PARSE_TEXT
        26,  # CANNOT_PARSE_QUOTED_STRING
        27,  # CANNOT_PARSE_INPUT_ASSERTION_FAILED
        38,  # CANNOT_PARSE_DATE
        41,  # CANNOT_PARSE_DATETIME
        53,  # TYPE_MISMATCH
        69,  # ARGUMENT_OUT_OF_BOUND
        70,  # CANNOT_CONVERT_TYPE
        72,  # CANNOT_PARSE_NUMBER
        117,  # INCORRECT_DATA
        128,  # TOO_LARGE_ARRAY_SIZE
        131,  # TOO_LARGE_STRING_SIZE
        153,  # ILLEGAL_DIVISION (a materialized view dividing by a row's zero)
        190,  # SIZES_OF_ARRAYS_DONT_MATCH
        321,  # VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE
        349,  # CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN
        395,  # FUNCTION_THROW_IF_VALUE_IS_NON_ZERO
        407,  # DECIMAL_OVERFLOW
        469,  # VIOLATED_CONSTRAINT
        691,  # UNKNOWN_ELEMENT_OF_ENUM
    }
)

# Raised by the projection's pure mapping code or by a client serialising a value (before
# anything is sent): the event, not the store. None of them is raised for an I/O failure
# (those are OSError, redis.ConnectionError/TimeoutError, clickhouse OperationalError).
_MAPPING_ERRORS = (KeyError, IndexError, TypeError, ValueError, OverflowError, struct.error)

# Redis replies that refuse the value, not the service. READONLY, LOADING, OOM, MISCONF,
# BUSY, NOSCRIPT, ... are conditions of the server and are retried.
_REDIS_DATA_PREFIXES = ("WRONGTYPE",)


def is_data_error(exc: BaseException) -> bool:
    """True when ``exc`` says the write can never succeed as it is (see the module)."""
    if isinstance(exc, ClickHouseDataError):
        return True  # the client could not serialise a value into its column type
    if isinstance(exc, ClickHouseOperationalError):
        return False
    if isinstance(exc, ClickHouseDatabaseError):
        return exc.code in CLICKHOUSE_DATA_CODES
    if isinstance(exc, redis.DataError):
        return True  # redis-py refused to encode an argument
    if isinstance(exc, redis.ResponseError):
        return redis_reply(exc).startswith(_REDIS_DATA_PREFIXES)
    if isinstance(exc, (redis.RedisError, OSError)):
        return False
    return isinstance(exc, _MAPPING_ERRORS)


def redis_reply(exc: redis.ResponseError) -> str:
    """The server's error reply; redis-py prefixes the one of a pipelined command with
    "Command # n (...) of pipeline caused error: "."""
    return str(exc).split(_PIPELINE_PREFIX_END, 1)[-1]


_PIPELINE_PREFIX_END = " of pipeline caused error: "


def describe(exc: BaseException) -> str:
    """One line for a dead letter's reason: the error and, when the client wrapped
    another (clickhouse-connect's "Unable to create native array ... : error"), the
    error inside it, which is the one that names the value."""
    said = redis_reply(exc) if isinstance(exc, redis.ResponseError) else str(exc)
    text = f"{type(exc).__name__}: {said}"
    cause = exc.__cause__
    if cause is not None and str(cause) and str(cause) not in text:
        text += f" ({type(cause).__name__}: {cause})"
    return " ".join(text.split())
