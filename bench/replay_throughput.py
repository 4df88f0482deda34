"""Replay throughput: records/s of ``orderflow replay --from earliest`` into ClickHouse and
into Redis, against a raw kafka-python read (consume + Avro decode) of the same range,
all in the same run on the same log.

    .venv/bin/python -m bench.replay_throughput --orders 60000

Needs the local stack (``orderflow stack up``; KAFKA_BOOTSTRAP_SERVERS, REDIS_URL). The
log goes to a fresh namespace; ClickHouse is a fresh embedded chdb directory owned by
this process (or CLICKHOUSE_URL when it names a server). Everything is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
import uuid

from bench.event_log import order_events, produce_events
from sinks.clickhouse_schema import drop_schema
from sinks.redis_generations import drop_generation
from streams.adapters.admin import create_topics, delete_namespace_topics
from streams.adapters.codec import AvroCodec
from streams.bootstrap import bootstrap
from streams.config.settings import Settings
from streams.ops.replay.plan import make_plan, resolve_topics
from streams.ops.replay.reader import open_replay_consumer
from streams.ops.replay.run import Replay, Summary
from streams.ops.replay.shadow import ClickHouseTarget, RedisTarget


def raw_read(settings: Settings, codec: AvroCodec, ranges) -> tuple[int, float]:
    """The baseline: assign, seek, poll to the planned end offsets, decode every value."""
    consumer = open_replay_consumer(settings)
    try:
        ends = {r.tp: r.end_offset for r in ranges if r.records}
        consumer.assign(list(ends))
        for r in ranges:
            if r.records:
                consumer.seek(r.tp, r.start_offset)
        started, count = time.perf_counter(), 0
        while ends:
            for tp, records in consumer.poll(timeout_ms=500, max_records=20_000).items():
                for record in records:
                    if record.offset < ends.get(tp, -1):
                        codec.decode(record.value)
                        count += 1
            for tp in [tp for tp, end in ends.items() if consumer.position(tp) >= end]:
                del ends[tp]
        return count, time.perf_counter() - started
    finally:
        consumer.close()


def replay_into(settings, codec, target, batch_size: int) -> Summary:
    consumer = open_replay_consumer(settings)
    try:
        ranges = make_plan(consumer, resolve_topics(settings, None), None, None)
        summary = Summary("rebuild", [target.name])
        started = time.perf_counter()
        Replay(settings, consumer, codec, [target], batch_size).rebuild(ranges, summary)
        summary.seconds = time.perf_counter() - started
        return summary
    finally:
        consumer.close()


def machine() -> dict:
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    with open("/proc/cpuinfo") as f:
        names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    cpu = names[0] if names else platform.processor()
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gb": round(mem_kb / 1024 / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=60_000)
    parser.add_argument("--batch-size", type=int, default=20_000)
    args = parser.parse_args()
    env = dict(os.environ, ORDERFLOW_NAMESPACE=f"bench{uuid.uuid4().hex[:8]}")
    if not env.get("CLICKHOUSE_URL", "").startswith("http"):
        env["CLICKHOUSE_URL"] = f"chdb://{tempfile.mkdtemp(prefix='replay-bench-')}"
    settings = Settings.from_env(env)
    codec = bootstrap(settings).codec
    create_topics(settings)
    rclient = bootstrap(settings).redis
    chclient = bootstrap(settings).clickhouse
    try:
        events = produce_events(settings, codec, order_events(args.orders))
        consumer = open_replay_consumer(settings)
        ranges = make_plan(consumer, resolve_topics(settings, None), None, None)
        consumer.close()
        raw_n, raw_s = raw_read(settings, codec, ranges)
        ch = replay_into(
            settings,
            codec,
            ClickHouseTarget(chclient, settings.clickhouse_database),
            args.batch_size,
        )
        rd = replay_into(
            settings, codec, RedisTarget(rclient, settings.redis_prefix), args.batch_size
        )
        raw_rate = raw_n / raw_s
        result = {
            "events": events,
            "raw_read": {"records": raw_n, "seconds": round(raw_s, 2), "per_s": round(raw_rate)},
            "replay_clickhouse": _line(ch, raw_rate),
            "replay_redis": _line(rd, raw_rate),
            "batch_size": args.batch_size,
            "machine": machine(),
            "date": time.strftime("%Y-%m-%d"),
        }
        print(json.dumps(result, indent=2))
    finally:
        for gen in range(0, 3):
            drop_generation(rclient, settings.redis_prefix, gen)
        rclient.delete(f"{settings.redis_prefix}current")
        drop_schema(chclient, settings.clickhouse_database)
        delete_namespace_topics(settings)


def _line(summary: Summary, raw_rate: float) -> dict:
    return {
        "records": summary.records,
        "seconds": round(summary.seconds, 2),
        "per_s": round(summary.rate),
        "vs_raw": f"{100 * summary.rate / raw_rate:.0f}%",
    }


if __name__ == "__main__":
    main()
