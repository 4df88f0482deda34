"""``orderflow worker`` plus more processes of some roles: two hosts' worth on one machine.

    .venv/bin/python -m bench.pipeline --orders 4000 \\
        --worker-command "python -m bench.scaled_worker --extra orders --extra saga"

Starts the supervisor (``orderflow worker``, as a user runs it) and one more
``orderflow worker --role ROLE`` per ``--extra``, each with a web port and data directory
of its own (``ORDERFLOW_WEB_PORT`` + 20 + i, ``<data dir>/extra-i``), in the same consumer
groups: the role's partitions are shared between its processes, as they would be between
hosts. The projections role owns the embedded ClickHouse and cannot have a second process
on it. SIGTERM or Ctrl-C stops every process (the supervisor's own stop, SIGTERM to the
others), and the exit code is the worst of theirs. The bench measures the whole process
tree (``bench.pipeline_proc``).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

from streams.config.roles import ROLES
from streams.config.settings import Settings

STOP_SECONDS = 30.0
EXTRA_PORT_OFFSET = 20


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--extra",
        action="append",
        default=[],
        choices=[r for r in ROLES if r != "projections"],
        help="one more process of this role (repeat for more)",
    )
    args = p.parse_args()
    settings = Settings.from_env()
    worker = [sys.executable, "-m", "streams.cli.main", "worker"]
    procs = [subprocess.Popen(worker)]
    for i, role in enumerate(args.extra):
        env = dict(
            os.environ,
            ORDERFLOW_WEB_PORT=str(settings.web_port + EXTRA_PORT_OFFSET + i),
            ORDERFLOW_DATA_DIR=str(settings.data_dir / f"extra-{i}"),
            CLICKHOUSE_URL=settings.clickhouse_url,  # the default follows the data dir
        )
        procs.append(subprocess.Popen([*worker, "--role", role, "-l", "info"], env=env))

    stopping = False

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping and all(proc.poll() is None for proc in procs):
        time.sleep(0.2)
    stop(signal.SIGTERM, None)  # one ended by itself: end the others
    deadline = time.monotonic() + STOP_SECONDS
    codes = []
    for proc in procs:
        try:
            codes.append(proc.wait(max(0.1, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            proc.kill()
            codes.append(proc.wait())
    return max(abs(code) for code in codes)


if __name__ == "__main__":
    sys.exit(main())
