"""with_admin: a fresh admin client per try, retried only while the group coordinator is
still starting, the last error raised as it is (not tenacity's RetryError)."""

from __future__ import annotations

import pytest
from kafka.errors import CoordinatorNotAvailableError, GroupAuthorizationFailedError
from tenacity import wait_none

from streams import consumer_groups
from streams.consumer_groups import with_admin

pytestmark = pytest.mark.unit


class FakeAdmin:
    def __init__(self, opened: list[FakeAdmin]) -> None:
        self.closed = False
        opened.append(self)

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def opened(monkeypatch) -> list[FakeAdmin]:
    admins: list[FakeAdmin] = []
    monkeypatch.setattr(consumer_groups, "admin_client", lambda settings: FakeAdmin(admins))
    monkeypatch.setattr(with_admin.retry, "wait", wait_none())
    return admins


def failing(times: int, error: Exception):
    calls = []

    def call(admin):
        calls.append(admin)
        if len(calls) <= times:
            raise error
        return "done"

    return call


def test_a_starting_coordinator_is_waited_for_with_a_fresh_client_each_try(opened):
    assert with_admin(None, failing(3, CoordinatorNotAvailableError())) == "done"
    assert len(opened) == 4 and all(admin.closed for admin in opened)


def test_the_last_coordinator_error_is_raised_as_it_is(opened):
    with pytest.raises(CoordinatorNotAvailableError):
        with_admin(None, failing(99, CoordinatorNotAvailableError()))
    assert len(opened) == 20 and all(admin.closed for admin in opened)


def test_other_errors_are_not_retried(opened):
    with pytest.raises(GroupAuthorizationFailedError):
        with_admin(None, failing(1, GroupAuthorizationFailedError()))
    assert len(opened) == 1 and opened[0].closed
