"""One command in, everything the aggregate agent must write out. Pure, no Faust."""

from __future__ import annotations

from dataclasses import dataclass

from processors.orders import limits
from processors.orders.domain import CommandRejected, Order, decide, evolve
from streams.messages import ORDER_COMMANDS, Message, Record

# The aggregate takes every command of orders/commands (``decide`` rejects one it has no
# rule for).
COMMANDS = ORDER_COMMANDS

# The reason code of a command whose outcome the schemas cannot hold (see ``unwritable``).
UNWRITABLE = "unwritable_outcome"


@dataclass(frozen=True)
class Decision:
    """The new events, the state after them, the command's outcome, maybe a snapshot.

    ``remember`` is False for a command whose identifiers are beyond ``limits``: its
    outcome must not be stored by command id (the id would be both key and value of a
    table record that may then outgrow Kafka's message limit), and it need not be: a
    repeat is rejected again, the same way, before any state is read.
    """

    events: list[Message]
    state: Order | None
    result: Message
    snapshot: Message | None = None
    remember: bool = True


def command_result(
    command: Message,
    now_ms: int,
    *,
    version: int | None,
    event_ids: list[str] | None = None,
    rejected: CommandRejected | None = None,
) -> Message:
    return Message(
        Record.COMMAND_RESULT,
        {
            "command_id": command["command_id"],
            "order_id": command["order_id"],
            "status": "rejected" if rejected else "accepted",
            "version": version,
            "event_ids": event_ids or [],
            "reason_code": rejected.code if rejected else None,
            "reason": rejected.message if rejected else None,
            "occurred_at": now_ms,
        },
    )


def snapshot_of(state: Order, now_ms: int) -> Message:
    fields = state.to_dict()
    order_id, version = fields.pop("order_id"), fields.pop("version")
    return Message(
        Record.ORDER_SNAPSHOT,
        {"order_id": order_id, "version": version, "taken_at": now_ms, "state": fields},
    )


def order_from_snapshot(snapshot: Message) -> Order:
    body = snapshot.body
    return Order.from_dict(
        {**body["state"], "order_id": body["order_id"], "version": body["version"]}
    )


def ids_within_bounds(command: Message) -> bool:
    """Whether every identifier of ``command`` is short enough to be a table key."""
    return all(len(command[name]) <= limits.MAX_ID_CHARS for name in limits.ID_FIELDS)


def unwritable(state: Order | None, command: Message, now_ms: int, error: str) -> Decision:
    """``command`` rejected because its outcome cannot be encoded (say, a total beyond
    the schema's ``long``): the client gets a rejection naming the field instead of no
    answer at all, and the order stays as it was. The limits ``decide`` checks keep such
    commands out; this is the line behind them, for a limit missed or a bug."""
    rejected = CommandRejected(UNWRITABLE, f"the outcome cannot be written: {error}")
    version = state.version if state else None
    return Decision([], state, command_result(command, now_ms, version=version, rejected=rejected))


def handle(state: Order | None, command: Message, now_ms: int, snapshot_every: int) -> Decision:
    """Decide ``command`` against ``state`` and fold the result; rejections are outcomes."""
    try:
        events = decide(state, command, now_ms)
    except CommandRejected as rejected:
        version = state.version if state else None
        result = command_result(command, now_ms, version=version, rejected=rejected)
        return Decision([], state, result, remember=ids_within_bounds(command))
    before = state.version if state else 0
    for event in events:
        state = evolve(state, event)
    assert state is not None  # decide never accepts a command without producing events
    result = command_result(
        command, now_ms, version=state.version, event_ids=[e["event_id"] for e in events]
    )
    crossed = snapshot_every > 0 and state.version // snapshot_every > before // snapshot_every
    return Decision(events, state, result, snapshot_of(state, now_ms) if crossed else None)
