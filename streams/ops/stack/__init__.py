"""The local stack: a Kafka broker, a Redis server and embedded ClickHouse for development.

``up`` starts what is missing on loopback, leaves services that already answer alone,
``down`` stops what it started, ``status`` reports all three. Data and logs live under
``Settings.data_dir``; the Kafka jars are cached under ``Settings.cache_dir``.
"""

from streams.ops.stack.errors import StackError
from streams.ops.stack.services import down, status, up

__all__ = ["StackError", "down", "status", "up"]
