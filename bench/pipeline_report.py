"""Rows, ratios, the printed report and the clean-up of ``bench.pipeline``."""

from __future__ import annotations

import contextlib
import shutil

from bench import pipeline_kafka as pk
from sinks.clickhouse_schema import drop_schema
from streams.adapters.admin import delete_namespace_topics
from streams.bootstrap import bootstrap
from streams.cli.output import table
from streams.config.settings import Settings

MILESTONES = {
    "redis": "(a) every order in Redis",
    "clickhouse": "(b) every order in ClickHouse",
    "sagas": "(c) every saga notified",
}


def _per(n: float, d: float | None, digits: int = 1):
    return round(n / d, digits) if d else None


def _pct(n: float | None, d: float | None) -> str | None:
    return f"{100 * n / d:.1f}%" if n and d else None


def topic_rows(counts: dict[str, dict], orders: int) -> list[dict]:
    rows = [
        {
            "topic": t,
            "records": c["records"],
            "offsets": c["offsets"],
            "records_per_order": None if c["records"] is None else _per(c["records"], orders, 2),
            "offsets_per_order": _per(c["offsets"], orders, 2),
        }
        for t, c in sorted(counts.items())
    ]
    if rows and all(r["records"] is not None for r in rows):
        records, offsets = sum(r["records"] for r in rows), sum(r["offsets"] for r in rows)
        rows.append(
            {
                "topic": "TOTAL",
                "records": records,
                "offsets": offsets,
                "records_per_order": _per(records, orders, 2),
                "offsets_per_order": _per(offsets, orders, 2),
            }
        )
    return rows


def catch_up_rows(out: dict, orders: int) -> list[dict]:
    raw = (out.get("raw_loop") or {}).get("events_per_s")
    done = out.get("catch_up", {}).get("milestones", {})
    rows = []
    for key, label in MILESTONES.items():
        m = done.get(key)
        if m is None:
            rows.append({"milestone": label, "from_spawn_s": "not reached"})
            continue
        events_per_s = _per(m["order_events"], m["work_s"])
        rows.append(
            {
                "milestone": label,
                "from_spawn_s": m["from_spawn_s"],
                "from_ready_s": m["from_ready_s"],
                "work_s": m["work_s"],
                "orders_per_s": _per(orders, m["work_s"]),
                "order_events": m["order_events"],
                "events_per_s": events_per_s,
                "of_raw_loop": _pct(events_per_s, raw),
            }
        )
    return rows


def ratios(out: dict) -> dict:
    """Kafka records the worker's consumer groups consumed during catch-up, per second,
    against each Faust pass-through ceiling."""
    counts = {r["topic"]: r for r in out.get("topics", [])}
    consumed = sorted({t for topics in out.get("groups", {}).values() for t in topics})
    handled = sum(
        counts[t]["records"] if counts[t]["records"] is not None else counts[t]["offsets"]
        for topics in out.get("groups", {}).values()
        for t in topics
        if t in counts
    )
    seconds = out.get("catch_up", {}).get("work_s")
    per_s = _per(handled, seconds)
    ceiling = {r["name"]: _pct(per_s, r["msgs_per_s"]) for r in out.get("ceiling", [])}
    return {
        "consumed_topics": consumed,
        "messages_consumed": handled,
        "messages_consumed_per_s": per_s,
        "of_ceiling": ceiling,
    }


def cleanup(settings: Settings) -> dict:
    """Redis keys, consumer groups, Faust's data dirs, topics, then the ClickHouse database
    (embedded: opened here, the worker being gone). Each step on its own."""
    done: dict = {}
    with contextlib.suppress(Exception):
        store = bootstrap(settings).redis
        keys = list(store.scan_iter(f"{settings.redis_prefix}*", count=1000))
        for start in range(0, len(keys), 1000):
            store.delete(*keys[start : start + 1000])
        done["redis_keys"] = len(keys)
    with contextlib.suppress(Exception):
        done["groups"] = pk.delete_groups(settings)
    faust = settings.data_dir / "faust"
    done["faust_dirs"] = [str(p) for p in faust.glob(f"{settings.app_id}*") if p.is_dir()]
    for path in done["faust_dirs"]:
        shutil.rmtree(path, ignore_errors=True)
    with contextlib.suppress(Exception):
        done["topics"] = len(delete_namespace_topics(settings))
    try:
        drop_schema(bootstrap(settings).clickhouse, settings.clickhouse_database)
        done["clickhouse"] = f"dropped {settings.clickhouse_database}"
    except Exception as exc:  # noqa: BLE001 - reported, never fatal
        done["clickhouse"] = f"not dropped: {exc}"
    return done


def print_report(out: dict) -> None:
    c = out.get("catch_up", {})
    print(
        f"namespace {out['namespace']}, {out['orders']} pre-filled orders, "
        f"worker {' '.join(out['worker_argv'])}"
    )
    print(
        f"worker ready {c.get('ready_s')} s after spawn ({c.get('worker_cpu_at_ready_s')} CPU s "
        f"by then), first order event read at {c.get('first_order_event_s')} s; "
        f"log {out['worker_log']}"
    )
    print(
        f"\nCatch-up: {c.get('outcome')}. Rates over work_s, the clock from the earlier of ready "
        f"and the first order event ({c.get('work_clock_from_s')} s after spawn); order_events: "
        "records of orders.events read (read_committed) by then; of_raw_loop: events_per_s / "
        "the raw consume+decode loop's"
    )
    cols = ["milestone", "from_spawn_s", "from_ready_s", "work_s", "orders_per_s"]
    print(table(out["catch_up_rows"], [*cols, "order_events", "events_per_s", "of_raw_loop"]))
    print(
        f"worker CPU from spawn to the end of catch-up: {c.get('worker_cpu_s')} s = "
        f"{c.get('worker_cpu_ms_per_order')} ms/order; RSS at its end {c.get('worker_rss_mb')} MB "
        "(process tree)"
    )
    print(f"  by process: {c.get('worker_cpu_by_process_s')}; this bench: {c.get('bench_cpu_s')} s")
    print(f"saga notifications by kind: {out.get('saga_outcomes')}")
    if out.get("topics"):
        print(
            f"\nRecords per order by topic after catch-up (records: read_committed count, "
            f"{out.get('count_s')} s; offsets: end - beginning, incl. transaction markers)"
        )
        print(table(out["topics"], list(out["topics"][0])))
    r = out.get("ratios", {})
    print(
        f"\nconsumed by the worker's groups {list(out.get('groups', {}))}: "
        f"{r.get('messages_consumed')} records of {', '.join(r.get('consumed_topics', []))}"
        f" = {r.get('messages_consumed_per_s')}/s over work_s of the catch-up"
    )
    if live := out.get("live"):
        print(
            f"\nLive: {live['orders']} orders at {live['rate']:g}/s (achieved "
            f"{live['achieved_rate']}/s, sender at most {live['sender_max_behind_s']} s late); "
            f"waited {live['waited_after_last_send_s']} s after the last send (cap "
            f"{live['drain_cap_s']:g} s; visible: by then)"
            + ("; FELL BEHIND" if live["fell_behind"] else "")
        )
        print(table(live["latency"], list(live["latency"][0])))
        print(
            f"worker CPU {live['worker_cpu_ms_per_order']} ms/order live; RSS steady "
            f"{live['worker_rss_mb_steady']} MB (median, 2nd half), "
            f"max {live['worker_rss_mb_max']} MB"
        )
        print(
            f"  worker CPU by process: {live['worker_cpu_by_process_s']}; "
            f"this bench: {live['bench_cpu_s']} s"
        )
    if "raw_loop" in out:
        rl = out["raw_loop"]
        print(
            f"\nBaselines: raw consume+decode of a copy of orders.events, {rl['events']} events, "
            f"median of {rl['runs_per_s']} = {rl['events_per_s']}/s"
        )
        for row in out.get("ceiling", []):
            share = r.get("of_ceiling", {}).get(row["name"])
            extra = f"; worker consumed {share} of it" if share else ""
            print(
                f"  {row['name']}: {row['msgs_per_s']} msgs/s{extra}"
                f"{' ERROR ' + row['error'].splitlines()[0] if row['error'] else ''}"
            )
    print(f"\nstop: {out['stop']}; cleanup: {out.get('cleanup')}")
    p = out.get("worker_log_problems", {})
    print(
        f"worker log: {p.get('lines')} warning/error lines" + ("; first:" if p.get("first") else "")
    )
    for line in p.get("first", []):
        print(f"  {line[:200]}")
