"""The wall clock in epoch milliseconds, the unit of every time in the records.

One function, so the worker's wiring can hand the agents another clock (the composition
root, ``streams.bootstrap``, passes ``Services.clock``), and so no module writes the
conversion again.
"""

from __future__ import annotations

import time


def now_ms() -> int:
    """Milliseconds since the epoch, now."""
    return int(time.time() * 1000)
