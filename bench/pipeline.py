"""The whole pipeline, measured the way a user runs it: catch-up, live latency, baselines.

    .venv/bin/python -m bench.pipeline [--orders 20000] [--rate 1000] [--seconds 60]
        [--worker-args "--role all"] [--skip-ceiling] [--json] [--save FILE]

1. A fresh namespace (``p<hex>``); ``orders.commands`` pre-filled with ``--orders``
   CreateOrder commands of the demo (``streams.ops.demo.demo_orders``), the worker given the
   demo's failure rules so that sagas end completed or compensated.
2. ``orderflow worker`` (``--worker-command`` + ``--worker-args``) as a process of its own,
   ready when ``/health/`` answers at ``settings.web_url``.
3. Catch-up (``bench.pipeline_catchup``), watched from spawn: when every order is (a) in
   Redis, (b) in ClickHouse (counted by the process that owns it), (c) notified (one
   CustomerNotified per finished saga, read by a read_committed consumer); each from spawn
   and from ready, orders/s and order events/s (records of ``orders.events`` read by
   then) over the work clock, which starts at the earlier of ready and the first order
   event (a supervising worker may answer ``/health/`` after its roles began).
4. Records per order of every topic of the namespace, Faust's changelogs included.
5. Worker CPU per order (spawn to the end of catch-up, and live) and RSS in the live
   phase, summed over the worker's process tree, also by process (``bench.pipeline_proc``).
6. Live: ``--rate`` CreateOrder/s for ``--seconds`` s, latency per order to each of (a),
   (b), (c) (``bench.pipeline_live``); at most ``--drain-seconds`` after the last send.
7. With the worker stopped (SIGTERM, timed): the raw aiokafka consume+decode loop over this
   run's ``orders.events`` (``bench.projection_loops.run_loop`` on a plain copy: its end
   test needs contiguous offsets) and Faust's pass-through ceiling
   (``bench.faust_ceiling``), unless ``--skip-ceiling``.

Uses KAFKA_BOOTSTRAP_SERVERS, REDIS_URL, CLICKHOUSE_URL, ORDERFLOW_DATA_DIR,
ORDERFLOW_WEB_PORT. Deletes the namespace's topics, consumer groups, Redis keys and
ClickHouse database at the end; keeps the worker log (``<data dir>/logs``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import sys
import time
import uuid
from pathlib import Path

from bench import pipeline_kafka as pk
from bench.faust_ceiling import VARIANTS, measure_ceiling
from bench.pipeline_catchup import catch_up, clickhouse_counter, prefill, say
from bench.pipeline_live import live_phase
from bench.pipeline_proc import WorkerTree, log_problems
from bench.pipeline_report import catch_up_rows, cleanup, print_report, ratios, topic_rows
from bench.projection_loops import run_loop
from streams.adapters.admin import create_topics, delete_namespace_topics
from streams.adapters.client import CommandClient
from streams.adapters.codec import AvroCodec
from streams.bootstrap import bootstrap
from streams.config.settings import Settings
from streams.config.topics import ORDER_EVENTS
from streams.ops.demo_saga import demo_worker_env

RAW_LOOP_RUNS = 3
RAW_LOOP_MIN_EVENTS = 50_000  # a smaller loop is mostly its consumer's start-up


def raw_loop(settings: Settings, codec: AvroCodec) -> dict:
    """``run_loop`` without sinks over a non-transactional copy of ``orders.events`` (its
    end test needs contiguous offsets), repeated up to ``RAW_LOOP_MIN_EVENTS``;
    ``RAW_LOOP_RUNS`` runs, the median one."""
    copy = dataclasses.replace(settings, namespace=f"{settings.namespace}-raw")
    create_topics(copy, [ORDER_EVENTS])
    try:
        source, target = settings.topic(ORDER_EVENTS.name), copy.topic(ORDER_EVENTS.name)
        pk.copy_topic(settings, source, target, RAW_LOOP_MIN_EVENTS)
        runs = [
            run_loop("raw consume+decode", copy, codec, [], settings.batch_size)
            for _ in range(RAW_LOOP_RUNS)
        ]
    finally:
        delete_namespace_topics(copy)
    median = sorted(runs, key=lambda r: r.rate)[len(runs) // 2]
    return {
        "name": median.name,
        "events": median.events,
        "seconds": round(median.seconds, 3),
        "events_per_s": round(median.rate),
        "runs_per_s": [round(r.rate) for r in runs],
    }


def _measure(args, settings: Settings, codec, worker: WorkerTree, client, tail, out: dict) -> None:
    """Phases 1-7 into ``out``; the worker is stopped before the baselines run."""
    namespace = settings.namespace
    try:
        cid = f"{namespace}-prefill"
        started = time.perf_counter()
        ids = prefill(client, args.orders, cid)
        say(
            f"{namespace}: {len(ids)} commands in {time.perf_counter() - started:.1f} s; "
            f"starting {' '.join(worker.argv)}"
        )
        tail.start()
        worker.start()
        out["catch_up"] = c = catch_up(
            worker,
            tail,
            settings,
            ids,
            cid,
            args.ready_timeout,
            args.catch_up_timeout,
            args.stall_seconds,
        )
        say(f"catch-up: {c['outcome']}, {c['end_s']} s after spawn")
        out["saga_outcomes"] = dict(tail.kinds)
        started = time.perf_counter()
        counts = pk.count_records(settings, pk.namespace_topics(settings), args.count_timeout)
        out["count_s"] = round(time.perf_counter() - started, 1)
        out["groups"] = pk.worker_groups(settings)
        out["topics"] = topic_rows(counts, args.orders)
        if c["outcome"] == "done" and args.seconds > 0:
            say(f"live: {args.rate:g}/s for {args.seconds:g} s")
            live = f"{namespace}-live"
            out["live"] = live_phase(
                settings,
                client,
                tail,
                worker,
                clickhouse_counter(settings, live),
                live,
                args.rate,
                args.seconds,
                args.drain_seconds,
            )
    finally:
        tail.stop()
        client.close()
        out["stop"] = worker.stop()
        say(f"worker stopped: {out['stop']}")
    if not args.skip_ceiling:
        say("baselines: raw consume+decode loop, then Faust's pass-through ceiling")
        out["raw_loop"] = raw_loop(settings, codec)
        variants = [v for v in VARIANTS if v.slug in args.ceiling_variants.split(",")]
        results = measure_ceiling(settings, messages=args.ceiling_messages, variants=variants)
        out["ceiling"] = [
            {"name": r.name, "msgs_per_s": round(r.rate), "error": r.error} for r in results
        ]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--orders", type=int, default=20_000, help="pre-filled CreateOrder commands")
    p.add_argument("--rate", type=float, default=1000.0, help="live CreateOrder per second")
    p.add_argument("--seconds", type=float, default=60.0, help="live phase length")
    p.add_argument("--drain-seconds", type=float, default=60.0, help="wait after the last send")
    p.add_argument("--worker-command", default=f"{sys.executable} -m streams.cli.main worker")
    p.add_argument("--worker-args", default="", help='e.g. "--role all"')
    p.add_argument("--ready-timeout", type=float, default=180.0, help="for /health/")
    p.add_argument("--catch-up-timeout", type=float, default=1800.0, help="from spawn")
    p.add_argument("--stall-seconds", type=float, default=120.0, help="give up without progress")
    p.add_argument("--count-timeout", type=float, default=300.0, help="for counting records")
    p.add_argument("--skip-ceiling", action="store_true", help="no raw loop, no Faust ceiling")
    p.add_argument("--ceiling-messages", type=int, default=30_000)
    p.add_argument(
        "--ceiling-variants",
        default="eos-each,alo-batch",
        help=f"of {','.join(v.slug for v in VARIANTS)}",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--save", type=Path, help="also write the JSON object to this file")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):  # never a default broker
        sys.exit("error: set KAFKA_BOOTSTRAP_SERVERS to your stack's broker")
    namespace = f"p{uuid.uuid4().hex[:8]}"
    env = demo_worker_env({**os.environ, "ORDERFLOW_NAMESPACE": namespace})
    settings = Settings.from_env(env)
    argv = shlex.split(args.worker_command) + shlex.split(args.worker_args)
    log_path = settings.data_dir / "logs" / f"pipeline-{namespace}.log"
    worker = WorkerTree(argv, env, log_path, settings.web_url)
    codec = bootstrap(settings).codec
    out: dict = {
        "namespace": namespace,
        "orders": args.orders,
        "worker_argv": argv,
        "worker_log": str(log_path),
    }
    create_topics(settings)
    client = CommandClient(settings, codec)
    tail = pk.Tail(settings, bootstrap(settings).codec)
    try:
        _measure(args, settings, codec, worker, client, tail, out)
    finally:
        out["cleanup"] = cleanup(settings)
    out["catch_up_rows"] = catch_up_rows(out, args.orders)
    out["ratios"] = ratios(out)
    problems = log_problems(log_path)
    out["worker_log_problems"] = {"lines": len(problems), "first": problems[:8]}
    if args.save:
        args.save.write_text(json.dumps(out, indent=2, default=str))
    if args.json:
        print(json.dumps(out, indent=2, default=str))
    else:
        print_report(out)


if __name__ == "__main__":
    main()
