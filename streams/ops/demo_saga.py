"""The saga part of the demo: failure rules that make some orders fail, and the outcomes.

The demo worker gets these rules unless the environment sets its own: charges above a
limit are declined, two SKUs are scarce (some orders run out of stock after payment),
and one SKU cannot be shipped.
"""

from __future__ import annotations

import collections
import json
import time
import urllib.error
import urllib.request

from streams.config.settings import Settings

DEMO_FAILURE_RULES = {
    "PAYMENT_DECLINE_ABOVE_CENTS": "30000",
    "INVENTORY_INITIAL_STOCK": "SKU-001=4,SKU-002=4,*=1000",
    "SHIPPING_UNSHIPPABLE_SKUS": "SKU-040",
}
FINAL = ("completed", "compensated", "needs_attention")


def demo_worker_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` with the demo's failure rules where it sets none."""
    return {**DEMO_FAILURE_RULES, **env}


def saga_outcomes(settings: Settings, order_ids: list[str], timeout: float) -> dict[str, int]:
    """Sagas of ``order_ids`` by final state (``running`` for those not done in time)."""
    wanted = set(order_ids)
    deadline = time.monotonic() + timeout
    while True:  # at least one look, even with no time to wait
        try:
            rows = every_saga(settings)
        except (urllib.error.URLError, OSError, KeyError, ValueError):
            rows = []
        states = {r["order_id"]: r["status"] for r in rows if r["order_id"] in wanted}
        done = len(states) == len(wanted) and all(s in FINAL for s in states.values())
        if done or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    counts = collections.Counter(states.get(i, "running") for i in wanted)
    return dict(sorted(counts.items()))


def every_saga(settings: Settings) -> list[dict]:
    """Every saga summary the worker serves, page after page (``/sagas/`` is bounded)."""
    rows: list[dict] = []
    while True:
        url = f"{settings.web_url}/sagas/?offset={len(rows)}"
        with urllib.request.urlopen(url, timeout=5) as response:
            answer = json.load(response)
        rows += answer["sagas"]
        if not answer.get("truncated"):
            return rows
