"""Which sagas wait on a deadline, ordered by when to look at them next. Pure, no Faust.

The deadline timer used to scan the whole ``saga_by_order`` table on every tick, on the
event loop: with tens of thousands of sagas that took seconds per tick and grew with the
table. This index holds only the sagas with a step in flight, in a heap keyed by the time
the timer should next look at them, so a tick costs O(overdue · log n).

It is memory only and derived: the table (changelog-backed) stays the one truth. The
saga agent tracks every state it stores; after a rebalance or a restart the index is
rebuilt from the table (``DeadlineIndex.rebuild``), so deadlines survive a restart.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from processors.saga.state import COMPENSATING, RUNNING

# Once a tick is sent for a step attempt, look at it again only this much later, doubling
# each time up to RESEND_AT_MOST_MS. A tick the broker acknowledged is read eventually (and
# after a restart or rebalance the index is rebuilt and ticks are sent afresh), so a
# resend only covers a send that failed. Resending every few seconds instead piled up
# duplicate ticks while the agent was behind on ``saga.ticks`` (23,000 ticks for 16,000
# sagas in one benchmark minute), each one more trigger for the overloaded agent to read.
RESEND_AFTER_MS = 30_000
RESEND_AT_MOST_MS = 300_000


@dataclass(frozen=True, slots=True)
class Deadline:
    """A saga's step in flight and when it times out."""

    order_id: str
    saga_id: str
    step: str
    attempt: int
    deadline_at: int
    partition: int


def deadline_of(order_id: str, saga: Mapping[str, Any] | None) -> Deadline | None:
    """The deadline a stored saga waits on, or None (finished, parked, nothing in flight)."""
    if not saga or saga.get("status") not in (RUNNING, COMPENSATING):
        return None
    if saga.get("deadline_at") is None:
        return None
    return Deadline(
        order_id,
        saga["saga_id"],
        saga["step"],
        saga["attempt"],
        saga["deadline_at"],
        saga.get("partition", -1),
    )


class DeadlineIndex:
    """Pending deadlines by order id, plus a heap of ``(look_at_ms, order_id)``.

    Heap entries are never removed in place: an entry whose time no longer matches the
    order's current ``look_at`` is stale and skipped when it surfaces.
    """

    def __init__(self) -> None:
        # order id -> (deadline, when to look at it next, ticks sent for it so far)
        self._pending: dict[str, tuple[Deadline, int, int]] = {}
        self._heap: list[tuple[int, str]] = []
        self.stale = True
        """The index no longer mirrors the table (start, rebalance): rebuild before use."""

    def __len__(self) -> int:
        return len(self._pending)

    def track(self, order_id: str, saga: Mapping[str, Any] | None) -> None:
        """Mirror the stored state of one saga (what the agent just wrote)."""
        deadline = deadline_of(order_id, saga)
        if deadline is None:
            self._pending.pop(order_id, None)
            return
        current = self._pending.get(order_id)
        if current is not None and current[0] == deadline:
            return  # unchanged: keep its look-at time (a tick may be in flight)
        self._schedule(deadline, deadline.deadline_at)

    def clear(self) -> None:
        self._pending.clear()
        self._heap.clear()

    def rebuild(self, stored: Iterable[tuple[str, Mapping[str, Any] | None]]) -> None:
        """Track every ``(order_id, stored saga)``; call after ``clear``, maybe in chunks."""
        for order_id, saga in stored:
            self.track(order_id, saga)

    def take_overdue(self, now_ms: int, limit: int) -> list[Deadline]:
        """Up to ``limit`` deadlines that have passed, each rescheduled to be looked at
        again later (``RESEND_AFTER_MS``, doubling), in case its tick is lost."""
        due: list[Deadline] = []
        heap = self._heap
        while heap and heap[0][0] <= now_ms and len(due) < limit:
            look_at, order_id = heapq.heappop(heap)
            current = self._pending.get(order_id)
            if current is None or current[1] != look_at:
                continue  # stale heap entry: answered, retried or already rescheduled
            deadline, _, sent = current
            due.append(deadline)
            wait = min(RESEND_AFTER_MS * 2**sent, RESEND_AT_MOST_MS)
            self._schedule(deadline, now_ms + wait, sent + 1)
        if len(heap) > 2 * len(self._pending) + 10_000:
            # Stale entries pile up under many updates with long timeouts: compact.
            self._heap = [(look_at, oid) for oid, (_, look_at, _) in self._pending.items()]
            heapq.heapify(self._heap)
        return due

    def next_look_at(self) -> int | None:
        """When the earliest deadline falls due (a stale entry may answer early), or None."""
        return self._heap[0][0] if self._heap else None

    def forget(self, order_id: str) -> None:
        """Stop tracking a saga (its partition went to another worker)."""
        self._pending.pop(order_id, None)

    def _schedule(self, deadline: Deadline, look_at: int, sent: int = 0) -> None:
        self._pending[deadline.order_id] = (deadline, look_at, sent)
        heapq.heappush(self._heap, (look_at, deadline.order_id))
