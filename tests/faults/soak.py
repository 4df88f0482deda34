"""The soak behind ``make chaos``: minutes of orders with a random fault every ~30 s, then
the audit every fault scenario ends with, and a section appended to ``RELIABILITY.md``.

    python -m tests.faults.soak [--minutes 5] [--rate 10] [--every 30] [--report RELIABILITY.md]

Runs on the stack the environment names (``make chaos`` starts a private one). The
pipeline is two ``orders`` and two ``saga`` role processes and one ``projections``; the
faults are: kill -9 of a role process (started again 2 s later), SIGTERM of one (started
again at once), Kafka killed (-9) for 30 s, Redis stopped for 30 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

from tests.faults.harness import Load, Pipeline, audit, kill_service, stack

ROLES = {"projections": "projections", "orders-1": "orders", "orders-2": "orders",
         "saga-1": "saga", "saga-2": "saga"}  # fmt: skip
SERVICE_OUTAGE_SECONDS = 30


def inject(pipeline: Pipeline, rng: random.Random) -> str:
    """One random fault, undone before it returns; what it was."""
    fault = rng.choice(["kill -9 role", "kill -9 role", "SIGTERM role", "kafka", "redis"])
    if fault in ("kill -9 role", "SIGTERM role"):
        name = rng.choice(sorted(ROLES))
        if fault == "kill -9 role":
            pipeline.kill9(name)
            time.sleep(2)
            what = f"kill -9 {name}"
        else:
            seconds, code = pipeline.terminate(name, timeout=30)
            what = f"SIGTERM {name}: stopped in {seconds:.1f} s, exit {code}"
        pipeline.start(name, ROLES[name], wait=False)
        return what
    try:
        kill_service(fault)
        time.sleep(SERVICE_OUTAGE_SECONDS)
    finally:
        stack("up")
    return f"{fault} down {SERVICE_OUTAGE_SECONDS} s (kill -9, then started again)"


def soak(minutes: float, rate: float, every: float, seed: int) -> dict:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="orderflow-chaos-") as tmp:
        pipeline = Pipeline(Path(tmp))
        try:
            for name, role in ROLES.items():
                pipeline.start(name, role)
            count = int(minutes * 60 * rate)
            load = Load(pipeline.settings, rate=rate, count=count).start()
            started, faults = time.monotonic(), []
            while time.monotonic() - started < minutes * 60 - every / 2:
                time.sleep(every * rng.uniform(0.6, 1.4))
                at = time.monotonic() - started
                faults.append(f"{at:5.0f} s  {inject(pipeline, rng)}")
                print(faults[-1], flush=True)
            try:
                result, error = audit(pipeline, load, timeout=900), None
            except AssertionError as exc:  # reported, not raised: the report says what failed
                result, error = None, str(exc)
            survivors = pipeline.alive()
        finally:
            pipeline.close()
    return {"result": result, "error": error, "faults": faults, "alive": survivors}


def report(path: Path, args: argparse.Namespace, run: dict, took: float) -> str:
    r = run["result"]
    machine = f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}"
    if r is None:
        rows = [("the audit failed", run["error"][:1500].replace("|", "/").replace("\n", " "))]
    else:
        lost = r.sent - min(r.outcomes, r.log_orders, r.redis_orders)
        rows = [
            ("orders sent", r.sent), ("outcomes", r.outcomes), ("accepted", r.accepted),
            ("orders in the log", r.log_orders), ("order events in the log", r.log_events),
            ("orders in Redis", r.redis_orders), ("duplicates in the log", r.duplicates),
            ("verify drift (Redis, ClickHouse, write side)", r.verify["drift"]),
            ("lost (sent − least of outcomes, log, Redis)", lost),
        ]  # fmt: skip
    text = "\n".join(
        [
            f"## Soak, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
            "",
            f"- Command: `make chaos MINUTES={args.minutes} RATE={args.rate}` "
            f"(`python -m tests.faults.soak --minutes {args.minutes} --rate {args.rate} "
            f"--every {args.every} --seed {args.seed}`), {took / 60:.1f} min in all",
            f"- Machine: {machine}",
            f"- Faults injected ({len(run['faults'])}):",
            "",
            "```",
            *run["faults"],
            "```",
            "",
            "| | |",
            "|---|---:|",
            *(f"| {name} | {value} |" for name, value in rows),
            "",
        ]
    )
    with path.open("a") as out:
        out.write("\n" + text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.faults.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=10.0, help="orders per second")
    parser.add_argument("--every", type=float, default=30.0, help="seconds between faults")
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--report", type=Path, default=Path("RELIABILITY.md"))
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.rate <= 0 or args.every <= 0:
        parser.error("--minutes, --rate and --every must be positive")
    began = time.monotonic()
    run = soak(args.minutes, args.rate, args.every, args.seed)
    print(report(args.report, args, run, time.monotonic() - began))
    r = run["result"]
    clean = r is not None and (
        r.outcomes == r.sent == r.log_orders == r.redis_orders
        and r.duplicates == 0 and r.verify["drift"] == 0
    )  # fmt: skip
    print("soak: nothing lost, nothing doubled" if clean else "soak: FAILED, read above")
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
