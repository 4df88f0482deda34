"""Faust's own ceiling here: a pass-through agent as a real worker, against raw aiokafka.

    .venv/bin/python -m bench.faust_ceiling [--messages 100000] [--batch-size 500] [--json]
        [--variants alo-each,alo-batch,eos-each,eos-batch,alo-fenced,alo-fenced-fast,...]

Each Faust variant gets a topic pair of its own (``source``, ``sink``; 4 partitions), the
two raw loops share one, all in a fresh namespace; every source is pre-filled with the same
M keyed messages (10,000 keys) of ~200 bytes. Timed:

- ``raw consume``: a group-less aiokafka loop reading the source to its end offsets, values
  untouched (the baseline);
- ``raw consume+produce``: the same loop sending every record on to the sink with an
  AIOKafkaProducer (Faust's producer settings: acks=all, no linger, 16 KiB batches), then
  at-least-once without transactions: every ``broker_commit_interval`` s (and at the end)
  flush the producer, then commit the consumed offsets for a group of its own;
- four ``faust -A bench.passthrough_app worker -l info`` processes, at_least_once /
  exactly_once × one ``await sink.send`` per event / batches of
  ``stream.take_events(N, within=0.5)``, each with its own app id (consumer group), free
  web port and data directory. ``-l info`` as ``orderflow worker`` runs: at ``-l warn`` Faust
  turns on its console spinner, which sets the root logger to DEBUG so that every
  ``log.debug`` in Faust and aiokafka (several per message) builds a record (``--loglevel
  warn`` measures that).

Every rate is M / seconds. The raw loops are timed from their first fetch (partitions
assigned, seeked to the beginning) to the last record read (and, passing through, the last
commit). A worker is timed from its first message in the agent (it logs the time; its
startup, rebalance and first fetch are reported apart as ``startup_s``) to the first 0.2 s
poll at which its group's committed offsets reach the source's end offsets and the sink's
read-committed end offsets sum to at least M, confirmed by counting the sink with a
read_committed consumer (at least M records). The worker is then stopped with SIGTERM
(killed after 20 s, reported as hung). Uses KAFKA_BOOTSTRAP_SERVERS; deletes its topics and
consumer groups at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as SyncTopicPartition
from kafka.errors import KafkaError

from streams.adapters.admin import admin_client, create_topics, delete_namespace_topics
from streams.adapters.kafka_clients import aiokafka_config, kafka_python_config
from streams.cli.output import table
from streams.config.settings import Settings
from streams.config.topics import TopicSpec
from tests.support import free_port

PARTITIONS = 4
COMMIT_INTERVAL = 0.5  # orderflow's broker_commit_interval
STOP_SECONDS = 20.0
POLL_SECONDS = 0.2
ROOT = Path(__file__).resolve().parents[1]
FIRST_MESSAGE = "FIRST_MESSAGE_AT"  # what bench.passthrough_app logs (not imported: it
# builds its app from the environment at import)
PROBLEM = re.compile(r"\[(WARNING|ERROR|CRITICAL)\]|Traceback|Error:")


@dataclass(frozen=True)
class Variant:
    guarantee: str  # at_least_once | exactly_once
    mode: str  # each | batch

    @property
    def name(self) -> str:
        return f"faust {self.guarantee} {self.mode}"

    @property
    def slug(self) -> str:
        return f"{'eos' if self.guarantee == 'exactly_once' else 'alo'}-{self.mode}"


VARIANTS = tuple(
    Variant(g, m) for g in ("at_least_once", "exactly_once") for m in ("each", "batch")
)
# On request (``--variants``): orderflow's batch loop, faust_fixes installed, sending with
# ``topic.send`` (fenced) or ``streams.runtime.sending.send_encoded`` (fenced-fast).
SEND_PATH_VARIANTS = tuple(
    Variant(g, m) for g in ("at_least_once", "exactly_once") for m in ("fenced", "fenced-fast")
)


@dataclass(frozen=True)
class CeilingResult:
    """One timed run. ``startup_s``: worker spawn to its first message (workers only)."""

    name: str
    messages: int
    seconds: float
    startup_s: float | None = None
    sink_messages: int | None = None
    stop: str | None = None
    log_problems: tuple[str, ...] = field(default=())
    error: str | None = None

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


# Topics and messages --------------------------------------------------------------------


def bench_messages(count: int, value_size: int = 200, keys: int = 10_000, seed: int = 7):
    """``count`` (key, value) byte pairs, reproducible by seed."""
    rng = random.Random(seed)
    return [(f"key-{n % keys:05d}".encode(), rng.randbytes(value_size)) for n in range(count)]


def fill_topic(settings: Settings, topic: str, messages: Sequence[tuple[bytes, bytes]]) -> None:
    producer = KafkaProducer(
        **kafka_python_config(settings),
        acks="all",
        linger_ms=10,
        batch_size=256 * 1024,
    )
    try:
        for key, value in messages:
            producer.send(topic, key=key, value=value)
        producer.flush()
    finally:
        producer.close(timeout=10)


def end_offsets(settings: Settings, topic: str, read_committed: bool = False) -> dict:
    consumer = KafkaConsumer(
        **kafka_python_config(settings),
        isolation_level="read_committed" if read_committed else "read_uncommitted",
        enable_auto_commit=False,
    )
    try:
        tps = [SyncTopicPartition(topic, p) for p in range(PARTITIONS)]
        return {tp.partition: offset for tp, offset in consumer.end_offsets(tps).items()}
    finally:
        consumer.close()


# Raw aiokafka loops ---------------------------------------------------------------------


async def _raw_loop(
    settings: Settings, source: str, sink: str | None, group: str | None, interval: float
):
    consumer = AIOKafkaConsumer(
        **aiokafka_config(settings),
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",  # a reset racing seek_to_beginning must not skip
    )
    producer = None
    if sink:
        producer = AIOKafkaProducer(
            **aiokafka_config(settings),
            acks="all",
            linger_ms=0,
            max_batch_size=16384,
        )
        await producer.start()
    await consumer.start()
    try:
        tps = [TopicPartition(source, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        await consumer.seek_to_beginning(*tps)
        remaining = {tp for tp in tps if ends[tp] > 0}
        count, nbytes, last_commit = 0, 0, time.monotonic()
        positions: dict[TopicPartition, int] = {}
        started = time.perf_counter()  # the first fetch is part of the work
        while remaining:
            fetched = await consumer.getmany(*remaining, timeout_ms=500)
            for tp, records in fetched.items():
                for record in records:
                    if record.offset >= ends[tp]:
                        break
                    count += 1
                    nbytes += len(record.value)
                    if producer:
                        await producer.send(sink, record.value, key=record.key)
                    positions[tp] = record.offset + 1
                if positions.get(tp, 0) >= ends[tp]:
                    remaining.discard(tp)
            due = not remaining or time.monotonic() - last_commit >= interval
            if producer and positions and due:
                await producer.flush()  # at-least-once: delivered before committed
                await consumer.commit(dict(positions))
                last_commit = time.monotonic()
        return count, time.perf_counter() - started
    finally:
        await consumer.stop()
        if producer:
            await producer.stop()


def raw_consume(settings: Settings, source: str) -> CeilingResult:
    """Group-less aiokafka read of ``source`` to its end offsets, values untouched."""
    count, seconds = asyncio.run(_raw_loop(settings, source, None, None, 0))
    return CeilingResult("raw consume", count, seconds)


def raw_consume_produce(
    settings: Settings, source: str, sink: str, group: str, commit_interval: float = COMMIT_INTERVAL
) -> CeilingResult:
    """``raw_consume`` passing every record to ``sink``; at-least-once commits for ``group``
    every ``commit_interval`` s."""
    count, seconds = asyncio.run(_raw_loop(settings, source, sink, group, commit_interval))
    return CeilingResult("raw consume+produce", count, seconds, sink_messages=count)


# The Faust worker -----------------------------------------------------------------------


def worker_env(
    settings: Settings,
    variant: Variant,
    app_id: str,
    source: str,
    sink: str,
    datadir: Path,
    batch_size: int,
    commit_interval: float,
) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=settings.kafka_bootstrap_servers,
        PASSTHROUGH_APP_ID=app_id,
        PASSTHROUGH_SOURCE=source,
        PASSTHROUGH_SINK=sink,
        PASSTHROUGH_GUARANTEE=variant.guarantee,
        PASSTHROUGH_MODE=variant.mode,
        PASSTHROUGH_BATCH=str(batch_size),
        PASSTHROUGH_PARTITIONS=str(PARTITIONS),
        PASSTHROUGH_COMMIT_INTERVAL=str(commit_interval),
        PASSTHROUGH_WEB_PORT=str(free_port()),
        PASSTHROUGH_DATADIR=str(datadir),
    )
    return env


def _first_message_at(log_path: Path) -> float | None:
    found = re.search(rf"{FIRST_MESSAGE} (\d+\.\d+)", log_path.read_text(errors="replace"))
    return float(found.group(1)) if found else None


def count_sink(settings: Settings, sink: str, at_least: int, timeout: float = 60) -> int:
    """Records a read_committed consumer reads from ``sink`` (until its end offsets, or
    ``at_least`` records and 1 s without more, or ``timeout``)."""
    consumer = KafkaConsumer(
        **kafka_python_config(settings),
        isolation_level="read_committed",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    try:
        tps = [SyncTopicPartition(sink, p) for p in range(PARTITIONS)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)  # read_committed: the last stable offsets
        count, deadline, quiet_since = 0, time.monotonic() + timeout, time.monotonic()
        while time.monotonic() < deadline:
            got = consumer.poll(timeout_ms=200)
            count += sum(len(records) for records in got.values())
            if got:
                quiet_since = time.monotonic()
            if all(consumer.position(tp) >= ends[tp] for tp in tps) and count >= at_least:
                break
            if count >= at_least and time.monotonic() - quiet_since > 1:
                break
        return count
    finally:
        consumer.close()


def _stop(proc: subprocess.Popen) -> str:
    if proc.poll() is not None:
        return f"exited early with {proc.returncode}"
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(STOP_SECONDS)
        return f"SIGTERM, exit {code} after {time.monotonic() - started:.1f} s"
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return f"HUNG: killed after {STOP_SECONDS:.0f} s"


def _problems(log_path: Path) -> tuple[str, ...]:
    lines = log_path.read_text(errors="replace").splitlines()
    return tuple(ln for ln in lines if PROBLEM.search(ln) and FIRST_MESSAGE not in ln)


def faust_passthrough(
    settings: Settings,
    variant: Variant,
    source: str,
    sink: str,
    messages: int,
    workdir: Path,
    batch_size: int = 500,
    commit_interval: float = COMMIT_INTERVAL,
    loglevel: str = "info",
    timeout: float = 600,
) -> CeilingResult:
    """Run ``bench.passthrough_app`` as a worker over a filled ``source`` until ``sink``
    holds ``messages`` (read_committed) and its group committed to the source's end."""
    app_id = f"{settings.app_id}-{variant.slug}"
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"worker-{variant.slug}.log"
    env = worker_env(
        settings, variant, app_id, source, sink, workdir / "data", batch_size, commit_interval
    )
    source_ends = end_offsets(settings, source)
    admin = admin_client(settings)
    lso = KafkaConsumer(
        **kafka_python_config(settings),
        isolation_level="read_committed",
        enable_auto_commit=False,
    )
    sink_tps = [SyncTopicPartition(sink, p) for p in range(PARTITIONS)]
    spawned = time.time()
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "faust",
                "-A",
                "bench.passthrough_app",
                "worker",
                "-l",
                loglevel,
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    done = stop = None
    try:
        while done is None and time.time() - spawned < timeout:
            if proc.poll() is not None:
                break
            try:
                offsets = admin.list_group_offsets({app_id: None}).get(app_id, {})
            except KafkaError:  # the group coordinator may still be loading
                offsets = {}
            committed = {tp.partition: m.offset for tp, m in offsets.items() if tp.topic == source}
            at_end = all(committed.get(p, -1) >= end for p, end in source_ends.items())
            if at_end and sum(lso.end_offsets(sink_tps).values()) >= messages:
                done = time.time()
            time.sleep(POLL_SECONDS)
        sink_count = count_sink(settings, sink, messages) if done else None
        if sink_count is not None and sink_count < messages:
            done = None  # offsets committed without the sink holding everything
    finally:
        stop = _stop(proc)
        admin.close()
        lso.close()
    first = _first_message_at(log_path)
    problems = _problems(log_path)
    if done is None or first is None:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-20:])
        raise RuntimeError(f"{variant.name} did not finish ({stop}); {log_path}:\n{tail}")
    return CeilingResult(
        variant.name, messages, done - first, round(first - spawned, 2), sink_count, stop, problems
    )


# The whole run --------------------------------------------------------------------------


def measure_ceiling(
    settings: Settings,
    messages: int = 100_000,
    batch_size: int = 500,
    value_size: int = 200,
    commit_interval: float = COMMIT_INTERVAL,
    variants: Sequence[Variant] = VARIANTS,
    loglevel: str = "info",
    log_dir: Path | None = None,
) -> list[CeilingResult]:
    """Raw consume, raw consume+produce, then each Faust variant, each over a fresh source
    filled with the same ``messages``, in a fresh namespace deleted afterwards."""
    settings = dataclasses.replace(settings, namespace=f"ceiling{uuid.uuid4().hex[:8]}")
    slugs = ["raw", *(v.slug for v in variants)]
    specs = [TopicSpec(f"{kind}-{s}", PARTITIONS) for s in slugs for kind in ("source", "sink")]
    payload = bench_messages(messages, value_size)
    tmp = Path(tempfile.mkdtemp(prefix="orderflow-ceiling-"))
    groups = [f"{settings.app_id}-raw", *(f"{settings.app_id}-{v.slug}" for v in variants)]
    create_topics(settings, specs)
    try:
        for slug in slugs:
            fill_topic(settings, settings.topic(f"source-{slug}"), payload)
        raw_source, raw_sink = settings.topic("source-raw"), settings.topic("sink-raw")
        results = [
            raw_consume(settings, raw_source),
            raw_consume_produce(settings, raw_source, raw_sink, groups[0], commit_interval),
        ]
        for variant in variants:
            source, sink = (settings.topic(f"{k}-{variant.slug}") for k in ("source", "sink"))
            workdir = tmp / variant.slug
            try:
                result = faust_passthrough(
                    settings,
                    variant,
                    source,
                    sink,
                    messages,
                    workdir,
                    batch_size,
                    commit_interval,
                    loglevel,
                )
            except RuntimeError as exc:  # reported as a row of its own, the others still run
                result = CeilingResult(variant.name, messages, 0.0, error=str(exc))
            results.append(result)
        return results
    finally:
        if log_dir:
            log_dir.mkdir(parents=True, exist_ok=True)
            for log in tmp.glob("*/worker-*.log"):
                shutil.copy(log, log_dir / log.name)
        delete_namespace_topics(settings)
        admin = admin_client(settings)
        with contextlib.suppress(Exception):  # a killed worker's group may not be empty yet
            admin.delete_groups(groups)
        admin.close()
        shutil.rmtree(tmp, ignore_errors=True)


def ceiling_rows(results: Sequence[CeilingResult]) -> list[dict]:
    """Table rows; every rate also as a share of ``raw consume`` and ``raw consume+produce``."""
    raw = {r.name: r.rate for r in results}
    consume, passthrough = raw.get("raw consume"), raw.get("raw consume+produce")
    return [
        {"mode": r.name, "messages": r.messages, "seconds": round(r.seconds, 2),
         "msgs_per_s": round(r.rate), "startup_s": r.startup_s, "sink": r.sink_messages,
         "of_raw_consume": f"{100 * r.rate / consume:.0f}%" if consume else None,
         "of_raw_pass": f"{100 * r.rate / passthrough:.0f}%" if passthrough else None,
         "stop": r.error.splitlines()[0] if r.error else r.stop}
        for r in results
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=500, help="N of take_events(N)")
    parser.add_argument("--value-size", type=int, default=200, help="bytes per value")
    parser.add_argument(
        "--loglevel", default="info", choices=["info", "warn"], help="the worker's -l (see above)"
    )
    parser.add_argument("--log-dir", type=Path, help="keep the worker logs here")
    every = (*VARIANTS, *SEND_PATH_VARIANTS)
    parser.add_argument(
        "--variants",
        default=",".join(v.slug for v in VARIANTS),
        help=f"comma-separated, of {','.join(v.slug for v in every)}",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):  # never fall back to a default broker
        parser.error("set KAFKA_BOOTSTRAP_SERVERS to your stack's broker")
    started = time.perf_counter()
    results = measure_ceiling(
        Settings.from_env(),
        args.messages,
        args.batch_size,
        args.value_size,
        loglevel=args.loglevel,
        log_dir=args.log_dir,
        variants=[v for v in every if v.slug in args.variants.split(",")],
    )
    rows = ceiling_rows(results)
    problems = {r.name: list(r.log_problems) for r in results if r.log_problems}
    out = {"messages": args.messages, "value_size": args.value_size, "partitions": PARTITIONS,
           "batch_size": args.batch_size, "broker_commit_interval": COMMIT_INTERVAL,
           "worker_loglevel": args.loglevel,
           "wall_s": round(time.perf_counter() - started, 1), "runs": rows,
           "worker_log_problems": problems}  # fmt: skip
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(
        f"{args.messages} messages of {args.value_size} B on {PARTITIONS} partitions, "
        f"broker_commit_interval={COMMIT_INTERVAL}, batch N={args.batch_size}, "
        f"worker -l {args.loglevel}, "
        f"wall {out['wall_s']} s"
    )
    print(table(rows, list(rows[0])))
    for name, lines in problems.items():
        print(f"\n{name}: {len(lines)} warning/error lines in the worker log, first ones:")
        print("\n".join(f"  {line}" for line in lines[:5]))


if __name__ == "__main__":
    main()
