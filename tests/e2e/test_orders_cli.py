"""The order commands as a user runs them: `orderflow orders ...` against a running worker."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest

from streams.adapters.admin import create_topics, delete_namespace_topics
from streams.config.settings import Settings
from tests.support import AGGREGATE_ONLY, eventually, orderflow, start_worker, worker_env

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("orders-cli")
    env = worker_env(tmp, ORDERFLOW_SNAPSHOT_EVERY="2", ORDERFLOW_AGENTS=AGGREGATE_ONLY)
    settings = Settings.from_env(env)
    create_topics(settings)
    worker = start_worker(env, tmp)
    yield env
    worker.stop()
    delete_namespace_topics(settings)


def ok_json(env: dict, *args: str) -> dict:
    done = orderflow(env, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def history_of(env: dict, order_id: str) -> dict:
    done = orderflow(env, "orders", "history", order_id, "--json")
    return json.loads(done.stdout) if done.returncode == 0 else {"events": []}


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def test_lifecycle_history_and_time_travel(running):
    env = running
    created = ok_json(
        env, "orders", "create", "--user", "alice", "--item", "SKU-1:2:12.50", "--item", "SKU-2:1:3"
    )
    assert created["status"] == "accepted" and created["version"] == 1
    order_id = created["order_id"]
    time.sleep(0.01)  # distinct millisecond timestamps around each step, not synchronisation
    after_create = now_iso()
    assert ok_json(env, "orders", "confirm", order_id)["version"] == 2
    after_confirm = now_iso()
    shipped = ok_json(env, "orders", "ship", order_id, "--tracking-number", "TRK-9")
    assert shipped["version"] == 3

    refused = orderflow(env, "orders", "cancel", order_id, "--reason", "too late", "--json")
    assert refused.returncode == 1  # rejected: a failure, not a usage error (2)
    body = json.loads(refused.stdout)
    assert body["status"] == "rejected" and body["reason"] and body["version"] == 3

    # The outcome can be seen before the transaction holding the events commits.
    history = eventually(
        lambda: len((h := history_of(env, order_id))["events"]) == 3 and h,
        timeout=30,
        what="three events in the log",
    )
    assert history["source"] == "kafka-log"
    assert [e["type"] for e in history["events"]] == [
        "OrderCreated",
        "OrderConfirmed",
        "OrderShipped",
    ]
    assert [e["version"] for e in history["events"]] == [1, 2, 3]

    now = ok_json(env, "orders", "show", order_id)
    assert now["status"] == "shipped" and now["total_cents"] == 2800
    assert "snapshot v2" in now["source"]  # ORDERFLOW_SNAPSHOT_EVERY=2
    assert ok_json(env, "orders", "show", order_id, "--as-of", after_create)["status"] == "pending"
    assert (
        ok_json(env, "orders", "show", order_id, "--as-of", after_confirm)["status"] == "confirmed"
    )


def test_expected_version_conflict_is_rejected_with_current_version(running):
    created = ok_json(running, "orders", "create", "--user", "bob", "--item", "SKU-3:1:1")
    done = orderflow(
        running,
        "orders",
        "cancel",
        created["order_id"],
        "--reason",
        "x",
        "--expected-version",
        "7",
        "--json",
    )
    assert done.returncode == 1
    assert "version 1" in json.loads(done.stdout)["reason"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["orders", "create", "--user", "u", "--item", "SKU-1:two:1"], "QTY must be an integer"),
        (["orders", "create", "--user", "u", "--item", "SKU-1"], "SKU:QTY:PRICE"),
        (["orders", "create", "--user", "u", "--item", "SKU-1:1:1.005"], "two decimals"),
        (["orders", "create", "--user", "u", "--item", "SKU-1:0:1"], "QTY must be 1 to"),
        (["orders", "show", "x", "--as-of", "yesterday"], "cannot read time"),
    ],
)
def test_bad_arguments_fail_with_one_line(running, args, fragment):
    done = orderflow(running, *args)
    assert done.returncode != 0
    assert fragment in done.stderr
    assert "Traceback" not in done.stderr


def test_rejected_create_says_why(running):
    # A line beyond the bounds is refused before sending (tests/unit/test_cli_items.py);
    # a second order with the same id is the aggregate's to reject.
    create = ("orders", "create", "--user", "u", "--item", "SKU-1:1:1", "--json")
    order_id = ok_json(running, *create[:-1])["order_id"]
    done = orderflow(running, *create, "--order-id", order_id)
    assert done.returncode == 1
    assert json.loads(done.stdout)["reason_code"] == "duplicate_order"
    human = orderflow(running, *create[:-1], "--order-id", order_id)
    assert human.returncode == 1 and human.stdout.startswith("rejected (duplicate_order)")


def test_human_output_reads_times_money_and_items_as_people_do(running):
    create = ("orders", "create", "--user", "carol", "--item", "SKU-7:2:19.99", "--item", "B:1:5")
    order_id = ok_json(running, *create)["order_id"]
    shown = orderflow(running, "orders", "show", order_id)
    assert shown.returncode == 0, shown.stderr
    fields = [line.partition(":") for line in shown.stdout.splitlines()]
    lines = {key.strip(): value.strip() for key, _, value in fields}
    assert lines["items"] == "2 x SKU-7 at 19.99 EUR, 1 x B at 5.00 EUR"
    assert lines["total"] == "44.98 EUR"
    created = dt.datetime.fromisoformat(lines["created_at"])
    assert created.utcoffset() == dt.timedelta(0)
    assert "[{" not in shown.stdout and "_cents" not in shown.stdout
    listed = eventually(
        lambda: (
            (done := orderflow(running, "orders", "list", "--user", "carol")).returncode == 0
            and "44.98 EUR" in done.stdout
            and done
        ),
        what="the order in the read model",
    )
    assert "+00:00" in listed.stdout
