"""Arguments click itself refuses (unknown command, bad choice, out of range) get one
line on stderr and a non-zero exit, like every refusal of ours."""

from __future__ import annotations

import pytest

from tests.support import orderflow

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["nosuch"], "No such command 'nosuch'"),
        (["saga", "list", "--state", "bogus"], "'bogus' is not one of"),
        (["saga", "resume", "o-1", "--wait", "-1"], "-1.0 is not in the range"),
        (["orders", "create", "--user", "u", "--bogus"], "No such option: --bogus"),
    ],
)
def test_click_refusals_are_one_line(args, says):
    done = orderflow(None, *args)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")
    assert says in done.stderr and "--help`)" in done.stderr


# Bounds of the order commands: refused before anything is sent (no Kafka needed).
CREATE = ("orders", "create", "--user", "u")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([*CREATE, "--item", "SKU:1:Infinity"], "'SKU:1:Infinity': PRICE must be 0.01 to"),
        ([*CREATE, "--item", "SKU:1:NaN"], "'SKU:1:NaN': PRICE must be"),
        ([*CREATE, "--item", "SKU:1:1e30"], "'SKU:1:1e30': PRICE must be 0.01 to 10,000,000.00"),
        ([*CREATE, "--item", "SKU:1e30:1"], "'SKU:1e30:1': QTY must be an integer"),
        ([*CREATE, "--item", "SKU:4294967296:1"], "QTY must be 1 to 1,000,000"),
        ([*CREATE, "--item", "A:1:1", "--timeout", "-1"], "'-1' is not a number of seconds"),
        ([*CREATE, "--item", "A:1:1", "--timeout", "0"], "above 0"),
        ([*CREATE, "--item", "A:1:1", "--timeout", "nan"], "'nan' is not a number of seconds"),
        (["orders", "create", "--user", "", "--item", "A:1:1"], "'--user': must not be empty"),
        ([*CREATE, "--item", "A:1:1", "--currency", ""], "'' is not an ISO-4217 code"),
        ([*CREATE, "--item", "A:1:1", "--order-id", "o" * 129], "has 129 characters; at most 128"),
        (["orders", "cancel", "o-1", "--reason", " "], "'--reason': must not be empty"),
        (["orders", "ship", "o-1", "--tracking-number", "T" * 65], "at most 64"),
        (["orders", "confirm", "o-1", "--expected-version", "-1"], "is not in the range"),
        (["orders", "confirm", "o-1", "--timeout", "-5"], "'-5' is not a number of seconds"),
        (["orders", "show", "o-1", "--as-of", "99999999d"], "reaches before 1970-01-01"),
        (["demo", "--timeout", "-1"], "'-1' is not a number of seconds"),
    ],
)
def test_out_of_bounds_arguments_are_one_line_refusals(args, says):
    done = orderflow(None, *args)
    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
    assert says in done.stderr
