"""Prometheus metrics of one worker process, served at ``/metrics`` (``streams.web.ops``).

Every process keeps its own metrics in prometheus-client's default registry, which also
collects the process's CPU, memory and open files (``process_*``) and Python's GC. The
supervisor serves the union of its roles' metrics, each sample labelled with its
``role`` (``merge_expositions``): roles are separate processes, possibly restarted, and
each one's ``process_*`` metrics only mean something for that process, which
prometheus-client's multiprocess mode would lose (it also needs a shared directory and
cannot run custom collectors such as the lag below).

The hot paths count per batch, not per message, where a batch is at hand: a counter
increment takes a lock, which is cheap once per batch and not free thousands of times
a second.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import generate_latest as _generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

# aiohttp refuses a charset inside ``content_type``: sent as a header instead.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

COMMANDS = Counter(
    "orderflow_commands",
    "Commands the order aggregate answered, by result (accepted, rejected, duplicate: a "
    "repeated command id answered with its first outcome; forwarded: written to another "
    "partition than its key's, sent on to that one) and rejection reason code.",
    ["result", "reason"],
)
EVENTS_WRITTEN = Counter(
    "orderflow_events_written",
    "Order events the aggregate wrote to orders.events, by event type.",
    ["event"],
)
EVENTS_PROJECTED = Counter(
    "orderflow_events_projected",
    "Events written to a read-model store (refused ones not counted), by store.",
    ["store"],
)
PROJECTION_BATCH_SECONDS = Histogram(
    "orderflow_projection_batch_seconds",
    "Time to write one batch of events to a read-model store, by store (retries of a "
    "store that is down not included).",
    ["store"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
DEAD_LETTERS = Counter(
    "orderflow_dead_letters",
    "Messages parked on the dead-letter topic, by kind: decode (bytes that are no "
    "message), not_applicable (a message the agent does not handle), encode (an outcome its "
    "schema cannot hold), store_refused (a value a read-model store refused).",
    ["kind"],
)
SAGA_OUTCOMES = Counter(
    "orderflow_saga_outcomes",
    "Sagas that reached an end state: completed, compensated, needs_attention.",
    ["outcome"],
)
SAGA_STEPS_IN_FLIGHT = Gauge(
    "orderflow_saga_steps_in_flight",
    "Saga steps whose command is sent and not answered yet, in this process's partitions "
    "(orchestration mode).",
)
TRANSACTIONS = Counter(
    "orderflow_kafka_transactions",
    "Kafka transactions of this process (exactly_once), by result: committed, aborted, "
    "failed (the commit raised).",
    ["result"],
)


# Series that exist from the start, at 0: ``rate()`` and alerts see the first increment.
for _kind in (
    "decode",
    "not_applicable",
    "encode",
    "store_refused",
):  # streams.runtime.deadletter's
    DEAD_LETTERS.labels(_kind)
for _outcome in ("completed", "compensated", "needs_attention"):
    SAGA_OUTCOMES.labels(_outcome)
for _result in ("committed", "aborted", "failed"):
    TRANSACTIONS.labels(_result)


def count(counter: Counter, tally: Mapping[tuple[str, ...], int]) -> None:
    """Add a batch's ``tally`` (label values -> amount) to ``counter``: one locked
    increment per label set, not one per message."""
    for labels, amount in tally.items():
        if amount:
            counter.labels(*labels).inc(amount)


def generate_latest(registry: CollectorRegistry = REGISTRY) -> bytes:
    return _generate_latest(registry)


# Kafka transactions ------------------------------------------------------------------


def count_transactions() -> None:
    """Count the transactions Faust's producer commits and aborts (once per process).

    Faust commits one transaction per partition group it has in hand at each commit,
    in ``Producer.commit_transactions``; aborts go through ``abort_transaction``."""
    from faust.transport.drivers.aiokafka import Producer

    from streams.runtime.faust_fixes import patch_once

    patch_once(Producer, "commit_transactions", _counting_commits)
    patch_once(Producer, "abort_transaction", _counting_aborts)


def _counting_commits(commit):
    async def commit_transactions(self, tid_to_offset_map, *args, **kwargs):
        try:
            await commit(self, tid_to_offset_map, *args, **kwargs)
        except BaseException:
            TRANSACTIONS.labels("failed").inc()
            raise
        TRANSACTIONS.labels("committed").inc(len(tid_to_offset_map))

    return commit_transactions


def _counting_aborts(abort):
    async def abort_transaction(self, *args, **kwargs):
        TRANSACTIONS.labels("aborted").inc()
        return await abort(self, *args, **kwargs)

    return abort_transaction


# Consumer lag ------------------------------------------------------------------------


class ConsumerLagCollector(Collector):
    """``orderflow_consumer_lag{group,topic,partition}`` of this process's consumer group,
    computed as ``orderflow lag`` does (transaction markers excluded) when scraped, at
    most once per ``ttl`` seconds: reading it costs broker round trips, which a scrape
    every few seconds from several Prometheus servers should not multiply. ``read_lag``
    reads it (``streams.ops.lag.consumer_lag``, given where the views are wired)."""

    def __init__(self, group: str, read_lag: Callable[[], list], ttl: float = 10.0) -> None:
        self.group, self.read_lag, self.ttl = group, read_lag, ttl
        self._lock = threading.Lock()
        self._at = -ttl
        self._rows: list = []

    def describe(self) -> Iterable[Metric]:
        return [self._family()]  # no broker call when the collector is registered

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        for row in self._cached():
            family.add_metric([self.group, row.topic, str(row.partition)], row.lag)
        yield family

    def _family(self) -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "orderflow_consumer_lag",
            "Records not yet consumed by the group, per partition, transaction markers "
            "excluded (past 1000 the offset difference, an upper bound).",
            labels=["group", "topic", "partition"],
        )

    def _cached(self) -> list:
        from streams.adapters.admin import KafkaUnavailable

        with self._lock:
            if time.monotonic() - self._at >= self.ttl:
                try:
                    self._rows = self.read_lag()
                except (KafkaUnavailable, OSError) as exc:
                    log.warning("consumer lag of %s not available: %s", self.group, exc)
                    self._rows = []
                self._at = time.monotonic()
            return self._rows


# The supervisor's union -------------------------------------------------------------


class _Families(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self.families)


def merge_expositions(by_role: Mapping[str, str]) -> bytes:
    """One exposition from several processes' (role -> its ``/metrics`` text), every
    sample labelled ``role`` (unless it has a ``role`` label already). Each family
    appears once, as the text format requires (concatenating the texts would repeat
    every ``# TYPE`` line)."""
    families: dict[str, Metric] = {}
    for role, text in by_role.items():
        for family in text_string_to_metric_families(text):
            merged = families.get(family.name)
            if merged is None:
                merged = Metric(family.name, family.documentation, family.type, family.unit)
                families[family.name] = merged
            merged.samples += [
                sample._replace(labels={"role": role, **sample.labels}) for sample in family.samples
            ]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(families.values()))
    return _generate_latest(registry)


def role_up(states: Mapping[str, bool]) -> str:
    """``orderflow_role_up{role}``: 1 when the role's process answered the scrape."""
    family = GaugeMetricFamily(
        "orderflow_role_up", "1 when the role's process answered the scrape.", labels=["role"]
    )
    for role, up in states.items():
        family.add_metric([role], 1 if up else 0)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families([family]))
    return _generate_latest(registry).decode()
