"""The catch-up phase of ``bench.pipeline``: a worker started on a pre-filled
``orders.commands``, watched from its spawn.

Polled every ``POLL`` s (ClickHouse every ``CLICKHOUSE_POLL`` s): ``/health/`` until it
answers (ready), orders in Redis, orders of the run in ClickHouse (asked of the process
owning it), orders notified and order events read (``pipeline_kafka.Tail``). A worker
that supervises role processes may answer ``/health/`` only after its roles have done
much of the work, so every milestone is reported from spawn and from ready, and rates are
taken over the work clock: from the earlier of ready and the first order event read.
"""

from __future__ import annotations

import json
import sys
import time

from bench.pipeline_kafka import Tail
from bench.pipeline_proc import WorkerTree, cpu_delta
from sinks.clickhouse_client import read_owner
from sinks.redis_queries import count_orders
from streams.adapters.client import CommandClient
from streams.bootstrap import bootstrap
from streams.config.settings import Settings
from streams.ops.demo import demo_orders
from streams.ops.readside import ReadSideError, ask_worker

POLL = 0.25
CLICKHOUSE_POLL = 0.5
PROGRESS_EVERY = 15.0
MILESTONES = ("redis", "clickhouse", "sagas")


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def clickhouse_counter(settings: Settings, correlation_id: str):
    """Orders of ``correlation_id`` in ClickHouse, asked of the process that owns it (the
    owner file names its URL; else the worker's web URL). 0 while nothing answers."""

    def count() -> int:
        owner = read_owner(settings)
        url = owner["url"] if owner and owner.get("url") else settings.web_url
        try:
            return int(ask_worker(url, "count", {"correlation_id": correlation_id})[0]["orders"])
        except (ReadSideError, KeyError, IndexError, TypeError, ValueError):
            return 0

    return count


def prefill(client: CommandClient, orders: int, correlation_id: str) -> list[str]:
    """Send ``orders`` demo CreateOrder commands (seed 7); their order ids."""
    ids = []
    for command in demo_orders(orders, correlation_id):
        client.send(command)
        ids.append(command["order_id"])
    client.flush()
    return ids


def catch_up(
    worker: WorkerTree,
    tail: Tail,
    settings: Settings,
    ids: list[str],
    correlation_id: str,
    ready_timeout: float,
    timeout: float,
    stall: float,
) -> dict:
    """Watch a just-started ``worker`` until every order of ``ids`` reached the three
    milestones, or the worker exits, stalls for ``stall`` s or runs out of ``timeout``."""
    store = bootstrap(settings).redis
    ch_count = clickhouse_counter(settings, correlation_id)
    spawned, n = worker.spawned, len(ids)
    ready = ready_cpu = None
    bench_cpu = time.process_time()
    done: dict[str, tuple[float, int]] = {}
    ch, last_ch, last_state, last_change, last_say, why = 0, 0.0, None, spawned, spawned, None
    while why is None:
        now = time.perf_counter()
        if ready is None and worker.health() is not None:
            ready, ready_cpu = now, worker.cpu()
            say(f"worker ready after {ready - spawned:.1f} s")
        if now - last_ch >= CLICKHOUSE_POLL:
            ch, last_ch = ch_count(), now
        notified = dict(tail.notified)
        state = {
            "redis": count_orders(store, settings.redis_prefix),
            "clickhouse": ch,
            "sagas": sum(1 for o in ids if o in notified),
            "events": tail.order_events(),
        }
        for name in MILESTONES:
            if name not in done and state[name] >= n:
                at = max(notified[o] for o in ids) if name == "sagas" else now
                done[name] = (at, state["events"])
        if state != last_state:
            last_state, last_change = state, now
        if now - last_say >= PROGRESS_EVERY:
            say(f"{now - spawned:.0f} s after spawn: {json.dumps(state)} of {n} orders")
            last_say = now
        if len(done) == len(MILESTONES) and ready is not None:
            why = "done"
        elif not worker.alive():
            why = f"the worker exited ({worker.proc.returncode})"
        elif ready is None and now - spawned > ready_timeout:
            why = f"/health/ did not answer within {ready_timeout:.0f} s"
        elif now - last_change > stall:
            why = f"no progress for {stall:.0f} s"
        elif now - spawned > timeout:
            why = f"not done {timeout:.0f} s after spawn"
        else:
            time.sleep(POLL)
    end = max((at for at, _ in done.values()), default=time.perf_counter())
    cpu, by_process = worker.cpu(), worker.cpu_by_process()
    first = tail.first_event_at
    start = min(t for t in (ready, first, end) if t is not None)  # the work clock's zero
    rel = lambda t: None if t is None else round(t - spawned, 2)  # noqa: E731
    return {
        "outcome": why,
        "ready_s": rel(ready),
        "first_order_event_s": rel(first),
        "work_clock_from_s": rel(start),
        "end_s": rel(end),
        "milestones": {
            k: {
                "from_spawn_s": rel(at),
                "from_ready_s": None if ready is None else round(at - ready, 2),
                "work_s": round(at - start, 2),
                "order_events": events,
            }
            for k, (at, events) in done.items()
        },
        "last_counts": last_state,
        "work_s": round(end - start, 2),
        "worker_cpu_s": round(cpu, 2),
        "worker_cpu_at_ready_s": None if ready_cpu is None else round(ready_cpu, 2),
        "worker_cpu_ms_per_order": round(1000 * cpu / n, 2),
        "worker_cpu_by_process_s": cpu_delta({}, by_process),
        "bench_cpu_s": round(time.process_time() - bench_cpu, 2),
        "worker_rss_mb": round(worker.rss() / 2**20, 1),
    }
