"""The repeat filter with real ``logging`` records, handlers and formatters; a clock the
test moves stands in for time."""

from __future__ import annotations

import io
import logging

import pytest

from streams.config.logs import install

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def setup():
    """A logger tree like the worker's: records propagate to one root-like logger whose
    handler writes to a buffer through the filter."""
    root = logging.getLogger("test_logs_root")
    root.propagate, root.level = False, logging.DEBUG
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    clock = Clock()
    repeat = install(root)
    repeat.clock = clock
    yield root, out, clock, repeat
    root.removeHandler(handler)


def lines(out: io.StringIO) -> list[str]:
    return out.getvalue().splitlines()


def test_repeats_within_the_window_are_one_line_then_one_summary(setup):
    root, out, clock, _ = setup
    conn = root.getChild("aiokafka.conn")
    for attempt in range(500):
        conn.error("Unable connect to node with id %s: attempt %d", 1, attempt)
        clock.now += 0.05  # 500 records in 25 s
    assert lines(out) == [
        "ERROR test_logs_root.aiokafka.conn: Unable connect to node with id 1: attempt 0"
    ]
    clock.now += 6  # the window has closed
    conn.error("Unable connect to node with id %s: attempt %d", 1, 500)
    assert lines(out)[1:] == [
        "ERROR test_logs_root.aiokafka.conn: Unable connect to node with id 1: attempt 0"
        " ... repeated 499 times in the last 31 s",
        "ERROR test_logs_root.aiokafka.conn: Unable connect to node with id 1: attempt 500",
    ]


def test_other_templates_and_other_loggers_are_not_merged(setup):
    root, out, _, _ = setup
    for _ in range(3):
        root.getChild("a").warning("lag %d", 1)
        root.getChild("b").warning("lag %d", 1)
        root.getChild("a").warning("rebalancing")
    assert len(lines(out)) == 3


def test_a_summary_of_a_quiet_kind_is_written_by_the_next_record_of_any_kind(setup):
    root, out, clock, repeat = setup
    for _ in range(4):
        root.getChild("kafka.client").warning("Node %s not ready", 1)
    clock.now += 31
    root.getChild("orderflow").warning("Kafka is back")
    assert lines(out)[1:] == [
        "WARNING test_logs_root.kafka.client: Node 1 not ready"
        " ... repeated 3 times in the last 31 s",
        "WARNING test_logs_root.orderflow: Kafka is back",
    ]
    root.getChild("kafka.client").warning("Node %s not ready", 1)
    root.getChild("kafka.client").warning("Node %s not ready", 1)
    repeat.flush()  # at shutdown: what is still counted is written
    assert lines(out)[-1].endswith("Node 1 not ready ... repeated 1 times in the last 1 s")


def raise_connection_error():
    try:
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 43092)")
    except OSError as exc:
        raise RuntimeError("Unable to bootstrap from 127.0.0.1:43092") from exc


def test_a_kafka_clients_connection_error_is_one_line_with_what_to_do(setup):
    root, out, _, _ = setup
    try:
        raise_connection_error()
    except RuntimeError:
        root.getChild("aiokafka.consumer").exception("Error in bootstrap")
    [line] = lines(out)
    assert line.startswith(
        "ERROR test_logs_root.aiokafka.consumer: Error in bootstrap: RuntimeError"
    )
    assert "orderflow stack status" in line


def test_other_errors_and_our_own_keep_their_tracebacks(setup):
    root, out, _, _ = setup
    try:
        raise ValueError("a bug")
    except ValueError:
        root.getChild("faust.agents").exception("Agent crashed")
    try:
        raise_connection_error()
    except RuntimeError:
        root.getChild("processors.orders").exception("cannot send")
    text = out.getvalue()
    assert "ValueError: a bug" in text
    assert "ConnectionRefusedError: [Errno 111]" in text and "Kafka unreachable" not in text


def test_one_filter_on_two_handlers_decides_each_record_once(setup):
    root, out, clock, repeat = setup
    second = io.StringIO()
    handler = logging.StreamHandler(second)
    root.addHandler(handler)
    try:
        install(root)  # the first handler keeps its filter; the new one gets one
        for _ in range(10):
            root.error("boom %d", 1)
        assert len(lines(out)) == len(lines(second)) == 1
        assert repeat.windows[(root.name, "boom %d")].repeats == 9
    finally:
        root.removeHandler(handler)


def test_info_and_debug_are_never_held_back(setup):
    root, out, _, _ = setup
    for topic in ("orders.events", "orders.commands", "orders.events"):
        root.getChild("faust.producer").info("Creating topic %r", topic)
    assert len(lines(out)) == 3
