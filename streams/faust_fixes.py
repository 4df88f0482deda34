"""A fix for a record-losing race in faust-streaming's recovery (0.15.x).

After a restart or a rebalance, ``Recovery.on_recovery_completed`` (and
``_resume_streams`` when an app has no tables) resumes the stream partitions and seeks
them to their committed offsets while the consumer's flow is still running from the
changelog recovery; only afterwards does it call ``app.flow_control.resume()``, which
*clears* every stream queue (Faust's channels are ``clear_on_resume=True``).

Records fetched in that window are handed to the agents' queues and their offsets are
marked read. Those the agent has not taken yet are then cleared from the queue, and when
the consumer re-fetches them from the committed offset it drops them as already read.
The committed offset stays before them, so they are processed only after the next
restart: seen here as a restarted aggregate skipping 2–8 commands (reported upstream as
faust-streaming/faust#596, open at 0.15.3).

The fix stops the consumer's flow before those methods run, so no stream record is
delivered until the queues have been cleared and the flow resumed by Faust itself. With
the flow stopped, ``Consumer.getmany`` re-seeks to the committed offsets instead of
yielding records. ``tests/e2e/test_aggregate_restart.py`` is the regression test.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from faust.tables.recovery import Recovery

_MARK = "_orderflow_flow_stopped_first"


def _stop_flow_first(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    if getattr(method, _MARK, False):
        return method

    @functools.wraps(method)
    async def wrapper(self: Recovery, *args: Any, **kwargs: Any) -> Any:
        # The wrapped method resumes the flow itself once the stream queues are cleared.
        self.app.consumer.stop_flow()
        return await method(self, *args, **kwargs)

    setattr(wrapper, _MARK, True)
    return wrapper


def install() -> None:
    """Patch ``Recovery`` once per process (idempotent)."""
    Recovery.on_recovery_completed = _stop_flow_first(Recovery.on_recovery_completed)
    Recovery._resume_streams = _stop_flow_first(Recovery._resume_streams)
