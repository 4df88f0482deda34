"""The live phase of ``bench.pipeline``: CreateOrder at a fixed rate through a running
worker, and per order the latency from ``send`` to (a) its hash in Redis, (b) ClickHouse,
(c) its saga's CustomerNotified.

(a) is polled per order (every ``REDIS_POLL`` s); (b) by the count of the run's orders in
ClickHouse (every ``CLICKHOUSE_POLL`` s): when it rises from c to c', orders c..c'-1 in
send order get that time, an approximation (orders need not land in send order); (c) is
when ``pipeline_kafka.Tail`` read the notification. Waits at most ``drain`` seconds after
the last send, then reports what was not visible.
"""

from __future__ import annotations

import math
import statistics
import threading
import time
from collections.abc import Callable

import redis

from bench.pipeline_kafka import Tail
from bench.pipeline_proc import WorkerTree, cpu_delta
from sinks.redis_keys import order_key
from sinks.redis_queries import live_prefix
from streams.adapters.client import CommandClient
from streams.bootstrap import bootstrap
from streams.config.settings import Settings
from streams.ops.demo import demo_orders

REDIS_POLL = 0.01
CLICKHOUSE_POLL = 0.5
RESOURCE_POLL = 1.0


def percentiles(seconds: list[float]) -> dict:
    """p50/p95/p99 (nearest rank) and max in milliseconds."""
    if not seconds:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}
    s = sorted(seconds)
    rank = lambda q: s[max(0, math.ceil(q * len(s)) - 1)]  # noqa: E731
    return {
        "p50_ms": round(1000 * rank(0.5)),
        "p95_ms": round(1000 * rank(0.95)),
        "p99_ms": round(1000 * rank(0.99)),
        "max_ms": round(1000 * s[-1]),
    }


class _Run:
    """Shared state of one live phase: what was sent when, and what became visible."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.sent: dict[str, float] = {}
        self.redis: dict[str, float] = {}
        self.clickhouse: dict[str, float] = {}
        self.lock = threading.Lock()
        self.sending_done = threading.Event()
        self.give_up = threading.Event()


def _poll_redis(run: _Run, store: redis.Redis, prefix: str) -> None:
    while not run.give_up.is_set():
        with run.lock:
            pending = [o for o in run.ids if o not in run.redis]
        if run.sending_done.is_set() and not pending:
            return
        if pending:
            started = time.perf_counter()
            live = live_prefix(store, prefix)
            pipe = store.pipeline(transaction=False)
            for order_id in pending:
                pipe.exists(order_key(live, order_id))
            found = pipe.execute()
            now = time.perf_counter()
            for order_id, exists in zip(pending, found, strict=True):
                if exists:
                    run.redis[order_id] = now
            # At most ~1/5 of a core for polling when many orders are pending (a worker
            # falling behind must not be pushed further by its observer).
            time.sleep(max(REDIS_POLL, 4 * (time.perf_counter() - started)))
        else:
            time.sleep(REDIS_POLL)


def _poll_clickhouse(run: _Run, count: Callable[[], int]) -> None:
    seen = 0
    while not run.give_up.is_set():
        with run.lock:
            sent = len(run.ids)
        if run.sending_done.is_set() and seen >= sent:
            return
        now_count = min(count(), sent)
        now = time.perf_counter()
        with run.lock:
            for order_id in run.ids[seen:now_count]:
                run.clickhouse[order_id] = now
        seen = max(seen, now_count)
        time.sleep(CLICKHOUSE_POLL)


def _sample(run: _Run, worker: WorkerTree, samples: list) -> None:
    while not run.sending_done.is_set():
        samples.append((time.perf_counter(), worker.rss()))
        time.sleep(RESOURCE_POLL)


def live_phase(
    settings: Settings,
    client: CommandClient,
    tail: Tail,
    worker: WorkerTree,
    clickhouse_count: Callable[[], int],
    correlation_id: str,
    rate: float,
    seconds: float,
    drain: float = 60.0,
) -> dict:
    """Send ``rate * seconds`` CreateOrder paced at ``rate``/s; latencies per path."""
    run, rss_samples = _Run(), []
    store = bootstrap(settings).redis
    threads = [
        threading.Thread(target=_poll_redis, args=(run, store, settings.redis_prefix)),
        threading.Thread(target=_poll_clickhouse, args=(run, clickhouse_count)),
        threading.Thread(target=_sample, args=(run, worker, rss_samples)),
    ]
    total = max(1, int(rate * seconds))
    commands = demo_orders(total, correlation_id, seed=11)  # lazy: issued_at = send time
    cpu_before, by_process, bench_cpu = worker.cpu(), worker.cpu_by_process(), time.process_time()
    for thread in threads:
        thread.daemon = True
        thread.start()
    start = time.perf_counter()
    behind = 0.0
    for n in range(total):
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        else:
            behind = max(behind, -delay)
        command = next(commands)
        with run.lock:
            run.sent[command["order_id"]] = time.perf_counter()
            run.ids.append(command["order_id"])
        client.send(command)
    client.flush()
    last_send = time.perf_counter()
    run.sending_done.set()

    def all_visible() -> bool:
        return all(len(got) >= total for got in (run.redis, run.clickhouse, _notified(run, tail)))

    while not all_visible() and time.perf_counter() - last_send < drain and worker.alive():
        time.sleep(0.1)
    waited = time.perf_counter() - last_send
    run.give_up.set()
    cpu = worker.cpu() - cpu_before
    cpu_by_process = cpu_delta(by_process, worker.cpu_by_process())
    bench_cpu = time.process_time() - bench_cpu
    steady = [rss for at, rss in rss_samples if at >= start + (last_send - start) / 2]
    paths = {
        "redis": run.redis,
        "clickhouse (count-based)": run.clickhouse,
        "saga finished (notified)": _notified(run, tail),
    }
    rows = []
    for name, seen in paths.items():
        latencies = [max(0.0, seen[o] - run.sent[o]) for o in run.ids if o in seen]
        rows.append(
            {
                "path": name,
                "sent": total,
                "visible": len(latencies),
                "not_visible": total - len(latencies),
                **percentiles(latencies),
            }
        )
    return {
        "orders": total,
        "rate": rate,
        "achieved_rate": round(total / (last_send - start), 1),
        "sender_max_behind_s": round(behind, 3),
        "waited_after_last_send_s": round(waited, 1),
        "drain_cap_s": drain,
        "fell_behind": not all_visible(),
        "latency": rows,
        "worker_cpu_s": round(cpu, 2),
        "worker_cpu_ms_per_order": round(1000 * cpu / total, 2),
        "worker_cpu_by_process_s": cpu_by_process,
        "bench_cpu_s": round(bench_cpu, 2),
        "worker_rss_mb_steady": round(statistics.median(steady) / 2**20, 1) if steady else None,
        "worker_rss_mb_max": round(max(r for _, r in rss_samples) / 2**20, 1)
        if rss_samples
        else None,
    }


def _notified(run: _Run, tail: Tail) -> dict[str, float]:
    notified = dict(tail.notified)  # a copy: the tail thread adds to it
    with run.lock:
        return {o: notified[o] for o in run.ids if o in notified}
