"""A command that needs Kafka, pointed at a port where nothing listens: one line naming
the address and what to do, exit 1, long before kafka-python's 30 s of retries."""

from __future__ import annotations

import os

import pytest

from streams.adapters.reachability import bootstrap_addresses
from tests.support import free_port, orderflow

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    "args",
    [
        ("lag",),
        ("topics", "create"),
        ("tail", "orders.events"),
        ("orders", "history", "o-1"),
        ("orders", "create", "--user", "u", "--item", "SKU-1:1:1"),
        ("dead-letters", "list"),
    ],
)
def test_an_unreachable_kafka_is_one_line_naming_it(args):
    address = f"127.0.0.1:{free_port()}"  # bound a moment ago, now closed
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": address}
    done = orderflow(env, *args, timeout=20)  # kafka-python alone would take 30 s
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
    assert f"Kafka at {address} does not answer" in done.stderr
    assert "orderflow stack up" in done.stderr


def test_bootstrap_addresses_read_lists_schemes_and_ipv6():
    assert bootstrap_addresses("a:1, PLAINTEXT://b:2,[::1]:3,c") == [
        ("a", 1), ("b", 2), ("::1", 3), ("c", 9092),
    ]  # fmt: skip
