"""``orderflow verify``: fold the event log and compare it with every read model.

The log is read to the end offsets at the start (read_committed) and folded with
``processors.orders.domain.evolve``, the one fold. A copy of an event already folded
(same order, version not newer: a producer retry or a replayed batch on the log) is
skipped and counted, as the read models' own idempotent writes skip it.

Drift per model: ``missing`` (in the log, not in the model), ``stale`` (in both, but a
compared field differs), ``extra`` (in the model, not in the log) and ``counts``
(aggregate figures, such as orders per status, that differ). Verify a quiet pipeline:
events projected after the log was read show up as stale or extra.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
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


def report(log: FoldedLog, models: Mapping[str, ModelDrift]) -> dict:
    """The one JSON-ready verdict: total ``drift``, the log figures, drift per model."""
    return {
        "drift": sum(m.drift for m in models.values()),
        "log": {
            "events": log.log_events,
            "orders": len(log.orders),
            "duplicates_skipped": log.duplicates,
            "unfoldable": log.unfoldable,
        },
        "models": {name: m.to_dict() for name, m in models.items()},
    }
