"""with_admin: a fresh admin client per try, retried only while the group coordinator is
still starting, the last error raised as it is (not tenacity's RetryError); commit_offsets
retries the coordinator errors a new broker puts in its answer."""

from __future__ import annotations

import pytest
from kafka import TopicPartition
from kafka.errors import (
    CoordinatorNotAvailableError,
    GroupAuthorizationFailedError,
    NoError,
    NotCoordinatorError,
    UnknownMemberIdError,
)
from kafka.structs import OffsetAndMetadata
from tenacity import wait_none

from streams.ops import consumer_groups
from streams.ops.consumer_groups import GroupBusy, commit_offsets, with_admin

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


def test_a_coordinator_error_in_the_answer_is_retried_too(opened, monkeypatch):
    answers = iter([NotCoordinatorError, NotCoordinatorError, NoError])
    tp = TopicPartition("t", 0)
    monkeypatch.setattr(FakeAdmin, "alter_group_offsets", lambda *_: {tp: next(answers)}, False)
    commit_offsets(None, "g", {tp: OffsetAndMetadata(0, "", -1)})
    assert len(opened) == 3 and all(admin.closed for admin in opened)


def test_an_offset_the_broker_refuses_for_good_is_reported(opened, monkeypatch):
    tp = TopicPartition("t", 0)
    refused = {tp: UnknownMemberIdError}
    monkeypatch.setattr(FakeAdmin, "alter_group_offsets", lambda *_: refused, False)
    with pytest.raises(GroupBusy, match="UnknownMemberIdError"):
        commit_offsets(None, "g", {tp: OffsetAndMetadata(0, "", -1)})
    assert len(opened) == 1
