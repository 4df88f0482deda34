"""``orderflow verify``: fold the event log and compare it with every read model.

The log is read to the end offsets at the start (read_committed) and folded with
``processors.orders.domain.evolve``, the one fold. A copy of an event already folded
(same order, version not newer: a producer retry or a replayed batch on the log) is
skipped and counted, as the read models' own idempotent writes skip it.

Drift per model: ``missing`` (in the log, not in the model), ``stale`` (in both, but a
compared field differs), ``extra`` (in the model, not in the log) and ``counts``
(aggregate figures, such as orders per status, that differ). Verify a quiet pipeline:
events projected after the log was read show up as stale or extra.

The write side: the log against the aggregate's accepted command results. A model can
only be as right as the log, so a command answered "accepted" whose events never
committed (a crash-looping aggregate) is drift too, as is an event no accepted result
names. How both topics are read to one point in time: ``streams.adapters.writeside``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from processors.orders.domain import Order, evolve
from streams.messages import Message

COMPARED = ("status", "version", "total_cents", "user_id")
EXAMPLES = 10


@dataclass
class FoldedLog:
    """The state of every order according to the log, and how the log was read."""

    orders: dict[str, Order] = field(default_factory=dict)
    events: Counter = field(default_factory=Counter)  # events folded per order
    log_events: int = 0
    duplicates: int = 0
    unfoldable: int = 0

    def expected(self, with_events: bool = False) -> dict[str, dict]:
        """Per order, the compared fields (and the event count) a read model must hold."""
        out = {}
        for order_id, order in self.orders.items():
            row = {name: getattr(order, name) for name in COMPARED}
            if with_events:
                row["events"] = self.events[order_id]
            out[order_id] = row
        return out

    def status_counts(self) -> dict[str, int]:
        return dict(Counter(order.status for order in self.orders.values()))


def fold_log(messages: Iterable[Message]) -> FoldedLog:
    """Fold ``messages`` (log order within each order) into every order's state."""
    log = FoldedLog()
    for message in messages:
        log.log_events += 1
        order_id = message.get("order_id")
        state = log.orders.get(order_id)
        if state is not None and message.get("version", 0) <= state.version:
            log.duplicates += 1
            continue
        try:
            log.orders[order_id] = evolve(state, message)
        except (ValueError, KeyError, TypeError):
            log.unfoldable += 1  # e.g. an event before its OrderCreated
            continue
        log.events[order_id] += 1
    return log


@dataclass
class ModelDrift:
    """How far one read model is from the folded log."""

    missing: list[str] = field(default_factory=list)
    stale: list[dict] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    counts: list[dict] = field(default_factory=list)

    @property
    def drift(self) -> int:
        return len(self.missing) + len(self.stale) + len(self.extra) + len(self.counts)

    def to_dict(self) -> dict:
        return {
            "drift": self.drift,
            "missing": len(self.missing),
            "stale": len(self.stale),
            "extra": len(self.extra),
            "counts": len(self.counts),
            "examples": {
                "missing": self.missing[:EXAMPLES],
                "stale": self.stale[:EXAMPLES],
                "extra": self.extra[:EXAMPLES],
                "counts": self.counts[:EXAMPLES],
            },
        }


def compare_orders(
    expected: Mapping[str, dict], actual: Mapping[str, dict], counts: Iterable[tuple] = ()
) -> ModelDrift:
    """Drift of ``actual`` orders (by id) against ``expected``; fields compared are the
    keys of each expected row. ``counts`` holds (figure, expected, actual) triples."""
    drift = ModelDrift()
    drift.missing = sorted(set(expected) - set(actual))
    drift.extra = sorted(set(actual) - set(expected))
    for order_id in sorted(set(expected) & set(actual)):
        want, have = expected[order_id], actual[order_id]
        diffs = {
            name: {"expected": value, "actual": have.get(name)}
            for name, value in want.items()
            if _normal(have.get(name)) != _normal(value)
        }
        if diffs:
            drift.stale.append({"order_id": order_id, "fields": diffs})
    drift.counts = [
        {"figure": figure, "expected": want, "actual": have}
        for figure, want, have in counts
        if want != have
    ]
    return drift


def _normal(value):
    # Redis hands back strings for every field it does not know to be a number.
    return str(value) if value is not None else None


def status_count_triples(
    expected: Mapping[str, int], actual: Mapping[str, int]
) -> list[tuple[str, int, int]]:
    """(``orders.<status>``, expected, actual) for every status either side knows."""
    statuses = sorted(set(expected) | set(actual))
    return [(f"orders.{s}", expected.get(s, 0), actual.get(s, 0)) for s in statuses]


def report(
    log: FoldedLog, models: Mapping[str, ModelDrift], write_side: WriteSideDrift | None = None
) -> dict:
    """The one JSON-ready verdict: total ``drift`` (every read model's plus the write
    side's mismatches), the log figures, drift per model, the write side."""
    write_side = write_side or WriteSideDrift(checked=False)
    return {
        "drift": sum(m.drift for m in models.values()) + write_side.mismatches,
        "write_side": write_side.to_dict(),
        "log": {
            "events": log.log_events,
            "orders": len(log.orders),
            "duplicates_skipped": log.duplicates,
            "unfoldable": log.unfoldable,
        },
        "models": {name: m.to_dict() for name, m in models.items()},
    }


# The write side ------------------------------------------------------------------------


@dataclass
class WriteLedger:
    """What the aggregate wrote, as read: its accepted command results (by command id)
    and the events of the log (by event id)."""

    accepted: dict[str, dict] = field(default_factory=dict)
    events: dict[str, dict] = field(default_factory=dict)
    results: int = 0
    rejected: int = 0

    def add_result(self, result: Message) -> None:
        """A CommandResult; a repeated command's result (its first outcome again) is the
        same record twice. Rejected and failed commands changed nothing: no events."""
        self.results += 1
        if result.get("status") != "accepted":
            self.rejected += 1
            return
        self.accepted[result["command_id"]] = {
            "order_id": result["order_id"],
            "event_ids": list(result.get("event_ids") or []),
        }

    def add_event(self, event: Message, timestamp_ms: int) -> None:
        """An event of the log; copies (a producer retry, a replayed batch) are one event."""
        self.events[event["event_id"]] = {
            "order_id": event["order_id"],
            "event": event.name,
            "causation_id": event.get("causation_id"),
            "timestamp_ms": timestamp_ms,
        }


@dataclass
class WriteSideDrift:
    """How far the event log is from the accepted command results.

    ``missing_events``: accepted commands whose events are not in the log (the write side
    answered "accepted" but its events never committed). ``unaccepted_events``: events
    that no accepted result names (written by something other than the aggregate, or a
    result lost). ``in_flight``: mismatches at the snapshot that a transaction committing
    while it was taken settled. ``beyond_retention``: events older than the oldest command
    result still kept (results expire after 7 days, events never): not checked.
    """

    results: int = 0
    accepted: int = 0
    rejected: int = 0
    events: int = 0
    missing_events: list[dict] = field(default_factory=list)
    unaccepted_events: list[dict] = field(default_factory=list)
    in_flight: int = 0
    beyond_retention: int = 0
    checked: bool = True

    @property
    def mismatches(self) -> int:
        return len(self.missing_events) + len(self.unaccepted_events)

    def settle(self, later: WriteLedger) -> None:
        """Drop the mismatches that records committed after the snapshot explain."""
        named_later = _named_events(later)
        still_missing = [
            m for m in self.missing_events if not set(m["event_ids"]) <= set(later.events)
        ]
        still_unaccepted = [
            u for u in self.unaccepted_events if named_later.get(u["event_id"]) != u["causation_id"]
        ]
        self.in_flight += self.mismatches - len(still_missing) - len(still_unaccepted)
        self.missing_events, self.unaccepted_events = still_missing, still_unaccepted

    def to_dict(self) -> dict:
        if not self.checked:
            return {"checked": False, "mismatches": 0}
        return {
            "checked": True,
            "mismatches": self.mismatches,
            "results": self.results,
            "accepted_commands": self.accepted,
            "rejected_results": self.rejected,
            "events": self.events,
            "missing_events": len(self.missing_events),
            "unaccepted_events": len(self.unaccepted_events),
            "in_flight": self.in_flight,
            "beyond_retention": self.beyond_retention,
            "examples": {
                "missing_events": self.missing_events[:EXAMPLES],
                "unaccepted_events": self.unaccepted_events[:EXAMPLES],
            },
        }


def _named_events(ledger: WriteLedger) -> dict[str, str]:
    """Event id -> the accepted command that names it."""
    return {
        event_id: command_id
        for command_id, result in ledger.accepted.items()
        for event_id in result["event_ids"]
    }


def compare_write_side(
    ledger: WriteLedger, beyond_retention: Callable[[str, int], bool] = lambda o, t: False
) -> WriteSideDrift:
    """Every accepted result has its events in the log, and every event of the log is
    named by the accepted result of the command that caused it (``causation_id``).

    ``beyond_retention(order_id, timestamp_ms)`` says whether an event is older than the
    order's command results still kept; such an event is counted, not checked."""
    drift = WriteSideDrift(
        results=ledger.results,
        accepted=len(ledger.accepted),
        rejected=ledger.rejected,
        events=len(ledger.events),
    )
    for command_id, result in sorted(ledger.accepted.items()):
        absent = [e for e in result["event_ids"] if e not in ledger.events]
        if absent or not result["event_ids"]:
            drift.missing_events.append(
                {"order_id": result["order_id"], "command_id": command_id, "event_ids": absent}
            )
    named = _named_events(ledger)
    for event_id, event in sorted(ledger.events.items(), key=lambda kv: kv[1]["timestamp_ms"]):
        if named.get(event_id) == event["causation_id"]:
            continue
        if beyond_retention(event["order_id"], event["timestamp_ms"]):
            drift.beyond_retention += 1
            continue
        drift.unaccepted_events.append(
            {
                "order_id": event["order_id"],
                "event_id": event_id,
                "event": event["event"],
                "causation_id": event["causation_id"],
            }
        )
    return drift


def results_horizon(
    trimmed: Mapping[int, bool], first_kept_ms: Mapping[int, int], now_ms: int
) -> dict[int, int]:
    """Per results partition that retention trimmed: the time before which its results
    are gone (its first kept result, or now when none is left). Untrimmed partitions
    hold every result ever written and have no horizon."""
    return {p: first_kept_ms.get(p, now_ms) for p, was in trimmed.items() if was}
