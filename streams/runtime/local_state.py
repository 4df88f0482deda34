"""Local table state (RocksDB) that can be trusted only after a clean shutdown.

With exactly-once processing a ``kill -9`` aborts the worker's open transaction, but a
RocksDB store has already written that transaction's table updates to local disk; a
restarted worker would trust them and skip commands whose events were aborted. So a
worker that did not shut down cleanly throws its local tables away and rebuilds them
from the (read-committed) changelog topics. The in-memory store always rebuilds.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

log = logging.getLogger(__name__)
MARKER = "clean-shutdown"


def discard_unclean_state(datadir: Path, tabledir: Path, store: str) -> bool:
    """Drop local tables unless the previous worker left the clean-shutdown marker."""
    marker = datadir / MARKER
    dropped = False
    if store.startswith("rocksdb") and tabledir.exists() and not marker.exists():
        log.warning("no clean shutdown recorded: rebuilding tables in %s from changelogs", tabledir)
        shutil.rmtree(tabledir)
        dropped = True
    marker.unlink(missing_ok=True)
    return dropped


def mark_clean_shutdown(datadir: Path) -> None:
    (datadir / MARKER).write_text("the worker stopped cleanly; local tables are consistent\n")
