"""The worker's HTTP API, asked as a client asks it: a real worker process (every agent in
one process) with a few orders through the pipeline and their sagas, and a second worker
that runs only the aggregate (no projections, so no ClickHouse database) with the debug
views enabled.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from streams.adapters.admin import create_topics, delete_namespace_topics
from streams.adapters.client import CommandClient, new_command
from streams.adapters.codec import AvroCodec
from streams.adapters.schema_store import SchemaStore
from streams.config.settings import Settings
from tests.support import eventually, orderflow, start_worker, worker_env

pytestmark = pytest.mark.integration

USER = "user-http"
ORDERS = 5


def http(url: str) -> tuple[int, dict | None, str]:
    """Status, JSON body (None if not JSON) and content type of a GET."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            status, raw = response.status, response.read()
            kind = response.headers.get_content_type()
    except urllib.error.HTTPError as exc:
        status, raw, kind = exc.code, exc.read(), exc.headers.get_content_type()
    try:
        return status, json.loads(raw), kind
    except ValueError:
        return status, None, kind


@pytest.fixture(scope="module")
def worker(running) -> str:
    return running[0]


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    """The worker's URL and environment, with its orders through their sagas."""
    tmp = tmp_path_factory.mktemp("http-api")
    env = worker_env(tmp)
    settings = Settings.from_env(env)
    create_topics(settings)
    codec = AvroCodec(SchemaStore.load())
    proc = start_worker(env, tmp)
    client = CommandClient(settings, codec)
    try:
        commands = [
            new_command(
                "CreateOrder", f"http-{n}", "http-test", user_id=USER, currency="EUR",
                items=[{"sku": f"SKU-{n}", "quantity": 1, "unit_price_cents": 100 + n}],
            )
            for n in range(ORDERS)
        ]  # fmt: skip
        client.start_listening()
        for command in commands:
            client.send(command)
        client.flush()
        client.wait_for_results([c["command_id"] for c in commands], 60)
        url = settings.web_url
        eventually(
            lambda: http(f"{url}/users/{USER}/orders/?limit=100")[1]["orders"].__len__() == ORDERS,
            what="the orders in the Redis read model",
        )
        eventually(
            lambda: (
                http(f"{url}/analytics/count/?correlation_id=http-test")[1]["rows"][0]["orders"]
                == ORDERS
            ),
            what="the orders in ClickHouse",
        )
        eventually(
            lambda: (
                sum(s["status"] == "completed" for s in http(f"{url}/sagas/")[1]["sagas"]) == ORDERS
            ),
            what="every saga completed",
        )
        yield url, env
    finally:
        client.close()
        proc.stop()
        delete_namespace_topics(settings)


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/users/{user}/orders/?limit=abc", "limit"),
        ("/users/{user}/orders/?limit=0", "limit"),
        ("/users/{user}/orders/?limit=1001", "limit"),
        ("/users/{user}/orders/?page=-1", "page"),
        ("/users/{user}/orders/?limt=5", "limt"),
        ("/analytics/daily/?from=yesterday", "from"),
        ("/analytics/daily/?to=2026-13-01", "to"),
        ("/analytics/top-skus/?limit=1e3", "limit"),
        ("/analytics/funnel/?limit=5", "limit"),
        ("/analytics/order-summaries/?limit=10001", "limit"),
        ("/orders/http-0/?verbose=1", "verbose"),
        ("/orders/" + "x" * 201, "order_id"),
        ("/sagas/?state=bogus", "state"),
        ("/sagas/?limit=10001", "limit"),
        ("/sagas/?offset=-1", "offset"),
        ("/sagas/http-0/?x=1", "x"),
        ("/inventory/stock/?limit=x", "limit"),
    ],
)
def test_a_bad_parameter_is_a_json_400_naming_it(worker, path, parameter):
    status, body, kind = http(worker + path.format(user=USER))
    assert (status, kind) == (400, "application/json"), body
    assert body["parameter"] == parameter
    assert parameter in body["error"]


@pytest.mark.parametrize("path", ["/orders/http-1", "/orders/http-1/"])
def test_paths_are_served_with_and_without_trailing_slash(worker, path):
    status, body, _ = http(worker + path)
    assert status == 200 and body["order_id"] == "http-1"


def test_an_unknown_order_is_a_json_404(worker):
    status, body, kind = http(f"{worker}/orders/no-such-order")
    assert (status, kind) == (404, "application/json") and "not found" in body["error"]


def test_list_pages_are_bounded_and_say_when_truncated(worker):
    status, first, _ = http(f"{worker}/users/{USER}/orders/?limit=2")
    assert status == 200 and len(first["orders"]) == 2 and first["truncated"] is True
    _, last, _ = http(f"{worker}/users/{USER}/orders/?limit=2&page=3")
    assert len(last["orders"]) == 1 and last["truncated"] is False
    _, default, _ = http(f"{worker}/users/{USER}/orders")
    assert default["limit"] == 20 and default["truncated"] is False


def test_saga_and_stock_lists_page_with_offset(worker):
    _, first, _ = http(f"{worker}/sagas/?limit=3")
    _, rest, _ = http(f"{worker}/sagas?limit=3&offset=3")
    assert first["truncated"] is True and rest["truncated"] is False
    ids = [s["order_id"] for s in first["sagas"] + rest["sagas"]]
    assert sorted(ids) == sorted(f"http-{n}" for n in range(ORDERS))
    _, stock, _ = http(f"{worker}/inventory/stock/?limit=1")
    assert len(stock["stock"]) == 1 and stock["truncated"] is True
    status, saga, _ = http(f"{worker}/sagas/http-2")
    assert status == 200 and saga["order_id"] == "http-2"


def test_order_summaries_page_on_from_the_last_id(worker):
    seen, after = [], None
    while True:
        query = "limit=2" + (f"&after={after}" if after else "")
        status, body, _ = http(f"{worker}/analytics/order-summaries/?{query}")
        assert status == 200 and len(body["rows"]) <= 2
        seen += [row["order_id"] for row in body["rows"]]
        if not body["truncated"]:
            break
        after = body["next_after"]
    assert seen == sorted(f"http-{n}" for n in range(ORDERS))


def test_faust_table_and_router_views_are_off_by_default(worker):
    for path in ("/table/", "/router/", "/graph/", "/assignment/"):
        status, _, _ = http(worker + path)
        assert status == 404, path


@pytest.fixture(scope="module")
def aggregate_worker(tmp_path_factory):
    """Only the aggregate: nothing creates the ClickHouse database; Faust's views on."""
    tmp = tmp_path_factory.mktemp("http-api-aggregate")
    env = worker_env(tmp, ORDERFLOW_AGENTS="orders", ORDERFLOW_WEB_DEBUG_VIEWS="1")
    settings = Settings.from_env(env)
    create_topics(settings)
    proc = start_worker(env, tmp, args=())
    try:
        yield settings.web_url
    finally:
        proc.stop()
        delete_namespace_topics(settings)


def test_analytics_before_the_database_exists_is_a_json_503(aggregate_worker):
    status, body, kind = http(f"{aggregate_worker}/analytics/funnel/")
    assert (status, kind) == (503, "application/json")
    assert "does not exist yet" in body["error"]


def test_faust_views_are_served_when_enabled(aggregate_worker):
    status, body, _ = http(f"{aggregate_worker}/table/")
    assert status == 200 and "order_by_id" in json.dumps(body)


def test_cli_shows_no_library_log_lines(running):
    """kafka-python's warnings (a 4 KB dump of group metadata it cannot decode, "Metadata
    refresh failed" on a closing producer) stay out of the CLI's output unless -v."""
    _, env = running
    app_id = Settings.from_env(env).app_id
    busy = orderflow(env, "consumer-group", "reset", "--group", app_id, "--to-datetime", "1h")
    assert busy.returncode == 1
    assert busy.stderr.count("\n") == 1 and "active member" in busy.stderr, busy.stderr[:500]
    created = orderflow(env, "orders", "create", "--user", "u-quiet", "--item", "SKU-9:1:1")
    assert created.returncode == 0 and created.stderr == "", created.stderr[:500]
    verbose = orderflow(env, "-v", "consumer-group", "reset", "--group", app_id,
                        "--to-datetime", "1h")  # fmt: skip
    assert "kafka." in verbose.stderr  # the same run with -v shows the library's lines
