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
