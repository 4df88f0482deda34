"""Consumer-group offsets: read them, and reset a group to a time as Kafka's own
``kafka-consumer-groups --reset-offsets --to-datetime`` does.

A reset moves only the group's committed offsets; read models and state stay as they
are (``orderflow replay`` is the command that makes read models correct again). It is
refused while the group has active members, whose next commit would overwrite it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from kafka import TopicPartition
from kafka.errors import (
    CoordinatorLoadInProgressError,
    CoordinatorNotAvailableError,
    NotCoordinatorError,
)
from kafka.structs import OffsetAndMetadata
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_fixed

from streams.adapters.admin import admin_client
from streams.config.settings import Settings
from streams.ops.replay.plan import offsets_at
from streams.ops.replay.reader import open_replay_consumer

T = TypeVar("T")
# A new broker creates its offsets topic on first use: its coordinators move for a moment.
_TRANSIENT = (CoordinatorNotAvailableError, CoordinatorLoadInProgressError, NotCoordinatorError)


@retry(
    retry=retry_if_exception_type(_TRANSIENT),
    stop=stop_after_attempt(20),
    wait=wait_fixed(0.25),
    reraise=True,
)
def with_admin(settings: Settings, call: Callable[..., T]) -> T:
    """``call(admin)`` with a fresh admin client, retried (a fresh client each time)
    while the group coordinator is still starting; the last error is raised as it is."""
    admin = admin_client(settings)
    try:
        return call(admin)
    finally:
        admin.close()


class GroupBusy(RuntimeError):
    """The group has active members; the message names how many and where they run."""


class NothingToReset(RuntimeError):
    """The group has no committed offsets to move."""


@dataclass(frozen=True)
class OffsetMove:
    topic: str
    partition: int
    current_offset: int
    new_offset: int

    def to_dict(self) -> dict:
        return {
            "topic": self.topic,
            "partition": self.partition,
            "current_offset": self.current_offset,
            "new_offset": self.new_offset,
        }


def committed_offsets(settings: Settings, group: str) -> dict[TopicPartition, int]:
    """The offsets ``group`` has committed, by partition (empty for an unknown group)."""
    found = with_admin(settings, lambda a: a.list_group_offsets({group: None}).get(group, {}))
    return {tp: meta.offset for tp, meta in found.items() if meta.offset >= 0}


def active_members(settings: Settings, group: str) -> list[str]:
    """``client_id@host`` of each member of ``group`` (empty when nobody consumes)."""
    described = with_admin(settings, lambda a: a.describe_groups([group]).get(group) or {})
    return [f"{m.get('client_id')}@{m.get('client_host')}" for m in described.get("members") or []]


def plan_reset(settings: Settings, group: str, to_ms: int) -> list[OffsetMove]:
    """Where each committed partition of ``group`` would move for time ``to_ms``: the
    first offset at or after it, or the end offset when no record is that recent."""
    current = committed_offsets(settings, group)
    if not current:
        raise NothingToReset(f"group {group!r} has no committed offsets")
    consumer = open_replay_consumer(settings)
    try:
        tps = sorted(current, key=lambda tp: (tp.topic, tp.partition))
        targets = offsets_at(consumer, tps, to_ms)
    finally:
        consumer.close()
    return [OffsetMove(tp.topic, tp.partition, current[tp], targets[tp]) for tp in tps]


def reset_group(settings: Settings, group: str, moves: list[OffsetMove]) -> None:
    """Commit ``moves`` for ``group``; refused (GroupBusy) while it has members."""
    members = active_members(settings, group)
    if members:
        raise GroupBusy(
            f"group {group!r} has {len(members)} active member(s) ({', '.join(members[:3])}); "
            "stop its consumers first"
        )
    offsets = {
        TopicPartition(m.topic, m.partition): OffsetAndMetadata(m.new_offset, "", -1) for m in moves
    }
    commit_offsets(settings, group, offsets)


def commit_offsets(
    settings: Settings, group: str, offsets: dict[TopicPartition, OffsetAndMetadata]
) -> None:
    """Commit ``offsets`` for ``group``; ``GroupBusy`` for what the broker refuses.

    A new broker answers NotCoordinator per partition (in the answer, not raised) while
    it creates its offsets topic: raised here, so that ``with_admin`` retries it."""

    def alter(admin) -> dict:
        errors = admin.alter_group_offsets(group, offsets) or {}
        failed = {tp: err for tp, err in errors.items() if err.__name__ != "NoError"}
        for err in failed.values():
            if issubclass(err, _TRANSIENT):
                raise err()
        return failed

    failed = with_admin(settings, alter)
    if failed:
        raise GroupBusy(f"the broker refused the reset of {group!r}: {failed}")


def topology_conflict(settings: Settings, role: str | None) -> str | None:
    """Why starting ``role`` (None: every role, supervised; ``all``: one process) would
    re-process the log with empty tables, or None.

    The single process and the roles are different consumer groups with different table
    changelogs: a deployment that ran one way and is started the other way would begin
    from the earliest offsets with empty tables, deciding every command and saga again."""
    single = settings.app_id
    starting = [single] if role == "all" else [f"{single}-{role}"] if role else []
    starting = starting or list(settings.role_groups)
    others = list(settings.role_groups) if role == "all" else [single]
    if any(committed_offsets(settings, group) for group in starting):
        return None
    ran = [group for group in others if committed_offsets(settings, group)]
    if not ran:
        return None
    how = "orderflow worker" if role == "all" else "orderflow worker --role all"
    return (
        f"this deployment ran as {', '.join(ran)}, and {', '.join(starting)} has no offsets: "
        f"starting it would process the whole log again with empty tables. Keep running "
        f"`{how}`, or start afresh in a new ORDERFLOW_NAMESPACE"
    )
