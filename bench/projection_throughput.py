"""Projection throughput against a raw consume-and-decode loop, in the same run.

    .venv/bin/python -m bench.projection_throughput [--events 50000] [--json]

Fills a fresh namespace's ``orders.events`` with a realistic order lifecycle mix, then
times (a) an aiokafka consume-and-decode loop (the baseline), (b) projection into Redis
only, (c) into ClickHouse only, (d) into both, with the live agent's code and batch size
(``bench.projection_loops``); then (e) the real Faust worker catching up on the same
log and (f) p50/p99 latency from command sent to order visible in Redis at a fixed
rate. Uses KAFKA_BOOTSTRAP_SERVERS and REDIS_URL; embedded ClickHouse goes to fresh
temporary directories (one for this process, one for the worker). Cleans up after.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path

from bench.event_log import order_events, produce_events
from bench.projection_loops import LoopResult, run_loop
from bench.worker_runs import catch_up, command_latency
from sinks.clickhouse_schema import drop_schema
from streams.adapters.admin import create_topics, delete_namespace_topics
from streams.adapters.codec import AvroCodec
from streams.bootstrap import bootstrap
from streams.cli.output import table
from streams.config.settings import Settings
from streams.ops.demo import WorkerProcess
from tests.support import free_port


def _variant(settings: Settings, suffix: str) -> Settings:
    # Own Redis prefix and ClickHouse database per run; topics stay the base namespace's.
    return dataclasses.replace(settings, namespace=f"{settings.namespace}-{suffix}")


def projection_runs(settings: Settings, codec: AvroCodec, batch_size: int) -> list[LoopResult]:
    redis_only, ch_only, both = (_variant(settings, s) for s in ("redis", "ch", "both"))
    plans = [
        ("raw consume+decode", []),
        ("redis", bootstrap(redis_only).sink_factories()[:1]),
        ("clickhouse", bootstrap(ch_only).sink_factories()[1:]),
        ("redis+clickhouse", bootstrap(both).sink_factories()),
    ]
    return [run_loop(name, settings, codec, makers, batch_size) for name, makers in plans]


def worker_run(settings: Settings, tmp: Path, codec, orders: int, events: int, args) -> dict:
    env = dict(os.environ)
    env.update(
        ORDERFLOW_NAMESPACE=settings.namespace,
        ORDERFLOW_WEB_PORT=str(free_port()),
        ORDERFLOW_DATA_DIR=str(tmp / "worker-data"),
        ORDERFLOW_BATCH_SIZE=str(args.batch_size),
    )
    if settings.uses_embedded_clickhouse:
        env["CLICKHOUSE_URL"] = f"chdb://{tmp / 'worker-clickhouse'}"
    worker_settings = Settings.from_env(env)
    worker = WorkerProcess(worker_settings, tmp / "worker.log", env=env)
    try:
        result = {"catch_up": catch_up(worker, worker_settings, orders, events)}
        if args.latency_seconds > 0:
            result["latency"] = command_latency(
                worker_settings, codec, args.latency_rate, args.latency_seconds
            )
        return result
    finally:
        worker.stop()


def cleanup(settings: Settings) -> None:
    store = bootstrap(settings).redis
    keys = list(store.scan_iter(f"{settings.redis_prefix[:-1]}*", count=1000))
    for start in range(0, len(keys), 1000):
        store.delete(*keys[start : start + 1000])
    for suffix in ("ch", "both"):
        variant = _variant(settings, suffix)
        drop_schema(bootstrap(variant).clickhouse, variant.clickhouse_database)
    delete_namespace_topics(settings)


def main() -> None:
    base = Settings.from_env()
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50_000, help="about this many events")
    parser.add_argument("--batch-size", type=int, default=base.batch_size)
    parser.add_argument("--no-worker", action="store_true", help="skip (e) and (f)")
    parser.add_argument("--latency-rate", type=float, default=200.0, help="commands/s")
    parser.add_argument("--latency-seconds", type=float, default=20.0, help="0 skips it")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="orderflow-bench-"))
    settings = dataclasses.replace(base, namespace=f"bench{uuid.uuid4().hex[:8]}")
    if settings.uses_embedded_clickhouse:
        settings = dataclasses.replace(settings, clickhouse_url=f"chdb://{tmp / 'bench-ch'}")
    codec = bootstrap(settings).codec
    messages = order_events(max(1, round(args.events / 3.15)))
    orders = len({m["order_id"] for m in messages})
    create_topics(settings)
    try:
        produce_events(settings, codec, messages)
        runs = projection_runs(settings, codec, args.batch_size)
        worker = None
        if not args.no_worker:
            worker = worker_run(settings, tmp, codec, orders, len(messages), args)
    finally:
        cleanup(settings)
        shutil.rmtree(tmp, ignore_errors=True)
    raw = runs[0].rate
    rows = [
        {"mode": r.name, "events": r.events, "seconds": round(r.seconds, 2),
         "events_per_s": round(r.rate), "of_raw": f"{100 * r.rate / raw:.0f}%"}
        for r in runs
    ]  # fmt: skip
    out = {"events": len(messages), "orders": orders, "batch_size": args.batch_size,
           "loops": rows, "worker": worker}  # fmt: skip
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"{len(messages)} events of {orders} orders, batch size {args.batch_size}")
    print(table(rows, ["mode", "events", "seconds", "events_per_s", "of_raw"]))
    if worker:
        print("worker catch-up:", json.dumps(worker["catch_up"]))
        if "latency" in worker:
            print("command -> Redis latency:", json.dumps(worker["latency"]))


if __name__ == "__main__":
    main()
