"""Bad input to ``orderflow replay`` and ``consumer-group reset``: one line, a usage
error (exit 2), and nothing touched (the broker named here does not even exist)."""

from __future__ import annotations

import os

import pytest

from tests.support import orderflow

pytestmark = pytest.mark.unit

NOWHERE = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9", "REDIS_URL": "redis://127.0.0.1:9/0"}


def invoke(*args: str):
    """The command as a user runs it (``main`` prints a usage error in one line)."""
    return orderflow({**os.environ, **NOWHERE}, *args, timeout=60)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--from", "yesterday"], "cannot read time"),
        (["--from", "2026-11-20T10:00:00"], "has no zone"),
        (["--from", "1h", "--to", "2h"], "is before --from"),
        (["--from", "2099-01-01T00:00:00Z"], "in the future"),
        (["--from", "earliest", "--to", "2099-01-01T00:00:00Z"], "in the future"),
        (["--from", "earliest", "--projection", "mongo"], "unknown projection 'mongo'"),
        (["--from", "earliest", "--topics", "nope"], "unknown topic 'nope'"),
        (["--from", "earliest", "--topics", "orders.commands"], "no projection reads"),
    ],
)
def test_bad_replay_input_is_one_line_and_a_failure(args, says):
    result = invoke("replay", *args, "--dry-run")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ")
    assert says in result.stderr


@pytest.mark.parametrize(
    ("time", "says"), [("soon", "cannot read time"), ("earliest", "needs a time")]
)
def test_bad_reset_time_is_one_line_and_a_failure(time, says):
    result = invoke("consumer-group", "reset", "--group", "g", "--to-datetime", time)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and says in result.stderr
