"""The real Faust worker, measured from outside: catching up on a filled event log, and
latency from a command sent to the order visible in Redis at a fixed command rate."""

from __future__ import annotations

import statistics
import threading
import time
import uuid

from sinks import redis_queries
from sinks.redis_keys import order_key
from streams.adapters.client import CommandClient, new_command
from streams.adapters.codec import AvroCodec
from streams.bootstrap import bootstrap
from streams.config.settings import Settings
from streams.config.topics import ORDER_EVENTS
from streams.ops.demo import WorkerProcess
from streams.ops.lag import consumer_lag

POLL_SECONDS = 0.005
LINE = {"sku": "SKU-001", "quantity": 1, "unit_price_cents": 999}


def catch_up(worker: WorkerProcess, settings: Settings, orders: int, events: int) -> dict:
    """Start ``worker`` on a filled log; seconds until it answers, until Redis holds every
    order, and until the group's committed offsets reach the end of ``orders.events``."""
    store = bootstrap(settings).redis
    topic = settings.topic(ORDER_EVENTS.name)
    started = time.perf_counter()
    worker.start()
    worker.wait_ready(timeout=180)
    ready = time.perf_counter()
    redis_done = caught_up = None
    while caught_up is None and time.perf_counter() - ready < 600:
        in_redis = redis_queries.count_orders(store, settings.redis_prefix)
        if redis_done is None and in_redis >= orders:
            redis_done = time.perf_counter()
        parts = [p for p in consumer_lag(settings) if p.topic == topic]
        if redis_done and parts and all(p.lag == 0 for p in parts):
            caught_up = time.perf_counter()
        time.sleep(0.1)
    if caught_up is None:
        raise RuntimeError(f"the worker did not catch up within 600 s; read {worker.log_path}")
    return {
        "startup_s": round(ready - started, 2),
        "redis_all_orders_s": round(redis_done - ready, 2),
        "committed_to_end_s": round(caught_up - ready, 2),
        "events_per_s_after_ready": round(events / (caught_up - ready), 1),
    }


def command_latency(settings: Settings, codec: AvroCodec, rate: float, seconds: float) -> dict:
    """Send CreateOrder at ``rate``/s for ``seconds`` s through a running worker; latency
    from ``send`` to the order's hash existing in Redis, polled every 5 ms."""
    client = CommandClient(settings, codec)
    store = bootstrap(settings).redis
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    lock, done = threading.Lock(), threading.Event()

    def poll() -> None:
        while not done.is_set() or len(seen) < len(sent):
            with lock:
                pending = [o for o in sent if o not in seen]
            if pending:
                prefix = redis_queries.live_prefix(store, settings.redis_prefix)
                pipe = store.pipeline(transaction=False)
                for order_id in pending:
                    pipe.exists(order_key(prefix, order_id))
                now = time.perf_counter()
                for order_id, exists in zip(pending, pipe.execute(), strict=True):
                    if exists:
                        seen[order_id] = now - sent[order_id]
            if done.is_set() and time.perf_counter() - finished > 60:
                return
            time.sleep(POLL_SECONDS)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    total = int(rate * seconds)
    start = time.perf_counter()
    try:
        for n in range(total):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)  # pacing the load at a fixed rate
            order_id = f"lat-{uuid.uuid4()}"
            command = new_command("CreateOrder", order_id, "bench-latency", user_id="bench",
                                  items=[LINE], currency="EUR")  # fmt: skip
            with lock:
                sent[order_id] = time.perf_counter()
            client.send(command)
        client.flush()
        finished = time.perf_counter()
        done.set()
        poller.join(timeout=90)
    finally:
        client.close()
    latencies = sorted(seen.values())
    return {
        "commands": total,
        "achieved_rate": round(total / (finished - start), 1),
        "visible": len(latencies),
        "p50_ms": round(1000 * statistics.median(latencies), 1) if latencies else None,
        "p99_ms": round(1000 * latencies[int(0.99 * (len(latencies) - 1))], 1)
        if latencies
        else None,
        "max_ms": round(1000 * latencies[-1], 1) if latencies else None,
    }
