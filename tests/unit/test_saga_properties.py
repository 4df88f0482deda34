"""Properties of the orchestrated saga, for any order of replies, duplicates and timeouts.

A small world runs around the saga: the real order aggregate (``processors.orders``) and
the real participants (payment, inventory, shipping: ``processors.idempotency.handle``
with each one's ``decide``/``evolve``), linked by one FIFO queue per topic, as Kafka
keeps one order's messages in order within a topic. The saga is driven as its agent
drives it (``processors.saga.agent``): load the stored state, ``decide``, fold each
record with ``evolve``, send the commands ``command_for`` builds, store the state (as
JSON, like the Faust table). Hypothesis picks which queue moves next, which commands a
participant never answers, when the timer fires (its ticks queue up and go stale), when
the customer cancels, when an operator resumes a parked saga, and which handled trigger
is delivered again. Then the world settles: everything queued is delivered, overdue
steps time out, parked sagas are resumed, until the saga has finished.

The properties (issue 15): a finished saga has the order confirmed or every completed
forward step compensated, never both; compensation runs newest step first; delivering
again a trigger the saga took changes nothing; and the invariants the modules'
docstrings state. Three failures they found, now fixed, have tests of their own at the
end: an OrderCancelled read while the saga was parked was lost (the saga never finished),
and a redelivered OrderCancelled or SagaResumeRequested was taken again.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors.orders import handling as orders
from processors.orders.domain import CANCELLED, CONFIRMED, Order
from processors.saga.commands import DESTINATION, command_for, command_id_for
from processors.saga.deadlines import deadline_of
from processors.saga.decide import TRIGGERS, RetryPolicy, decide
from processors.saga.state import (
    COMPENSATED,
    COMPENSATING,
    COMPENSATION,
    COMPLETED,
    FORWARD,
    NEEDS_ATTENTION,
    RUNNING,
    Saga,
    evolve,
    idempotency_key,
    record_id,
    replace,
)
from streams.messages import Message
from tests.unit.saga_world import (
    ORDER,
    REPLY_TOPIC,
    SAGA,
    T0,
    Outcomes,
    Participants,
    create_order,
    customer_cancel,
    runs,
)

pytestmark = pytest.mark.unit

POLICY = RetryPolicy(step_timeout_ms=1_000, max_attempts=3, backoff=2.0)
UNDO_STEPS = frozenset(COMPENSATION.values()) | {"cancel_order"}

# Topics towards the saga (its triggers) and towards the participants (commands).
TO_SAGA = ("orders.events", "payments.events", "inventory.events", "shipping.events",
           "saga.ticks", "saga.requests")  # fmt: skip
TO_PARTICIPANTS = ("orders.commands", "payments.commands", "inventory.commands",
                   "shipping.commands")  # fmt: skip


@dataclass
class World:
    outcomes: Outcomes
    now: int = T0
    queues: dict[str, deque[Message]] = field(
        default_factory=lambda: {t: deque() for t in TO_SAGA + TO_PARTICIPANTS}
    )
    order: Order | None = None
    seen_commands: set[str] = field(default_factory=set)  # the aggregate's dedup by id
    participants: Participants = field(init=False)
    stored: dict[str, Any] | None = None  # saga_by_order[ORDER], as JSON gives it back
    records: list[Message] = field(default_factory=list)
    handled: list[Message] = field(default_factory=list)  # triggers delivered to the saga
    taken: list[Message] = field(default_factory=list)  # those that added records
    commands: list[tuple[str, Message]] = field(default_factory=list)  # (step, command)
    states: list[Saga] = field(default_factory=list)  # the saga after each change
    redeliveries: list[Redelivery] = field(default_factory=list)
    requests: int = 0
    cancels: int = 0

    def __post_init__(self) -> None:
        self.participants = Participants(self.outcomes)

    # The saga, as ``processors.saga.agent.build_saga_agent``'s ``handle`` drives it.

    @property
    def saga(self) -> Saga | None:
        return Saga.from_dict(self.stored) if self.stored else None

    def deliver_to_saga(self, trigger: Message) -> list[Message]:
        if trigger.name not in TRIGGERS:
            return []
        saga = self.saga
        records = decide(saga, trigger, self.now, POLICY)
        self.handled.append(trigger)
        if not records:
            return []
        self.taken.append(trigger)
        for record in records:
            saga = evolve(saga, record)
            command = command_for(saga, record)
            if command is not None:
                self.queues[DESTINATION[command.name]].append(command)
                self.commands.append((record["step"], command))
        assert saga is not None
        stored = replace(saga, partition=0).to_dict()
        self.stored = json.loads(json.dumps(stored))  # the table's JSON codec
        self.records += records
        self.states.append(Saga.from_dict(self.stored))
        return records

    # The world around it.

    def send_command(self, topic: str, command: Message) -> None:
        """The order aggregate or a participant handles ``command``; its events queue up."""
        if topic == "orders.commands":
            if command["command_id"] in self.seen_commands:
                return  # a repeated command id gets its first outcome again, no event
            self.seen_commands.add(command["command_id"])
            decision = orders.handle(self.order, command, self.now, snapshot_every=10**6)
            self.order = decision.state
            self.queues["orders.events"].extend(decision.events)
            return
        self.queues[REPLY_TOPIC[topic]].append(self.participants.answer(topic, command, self.now))

    def order_status(self) -> str | None:
        return self.order.status if self.order else None

    def deliver(self, topic: str) -> None:
        """The next message of ``topic`` reaches its reader."""
        if self.queues[topic]:
            message = self.queues[topic].popleft()
            if topic in TO_SAGA:
                self.deliver_to_saga(message)
            else:
                self.send_command(topic, message)

    def lose(self, topic: str) -> None:
        """A participant ignores the next command (``ORDERFLOW_SILENT_COMMANDS``)."""
        if topic != "orders.commands" and self.queues[topic]:
            self.queues[topic].popleft()

    def fire_timer(self) -> bool:
        """The deadline timer: the clock reaches the stored step's deadline, a tick
        queues up for that step attempt (it may be read after the step moved on)."""
        deadline = deadline_of(ORDER, self.stored)
        if deadline is None:
            return False
        self.now = max(self.now, deadline.deadline_at)
        self.queues["saga.ticks"].append(
            Message(
                "SagaDeadlineReached",
                {
                    "order_id": ORDER,
                    "saga_id": deadline.saga_id,
                    "step": deadline.step,
                    "attempt": deadline.attempt,
                    "deadline_at": deadline.deadline_at,
                    "issued_at": self.now,
                },
            )
        )
        return True

    def customer_cancels(self) -> None:
        self.cancels += 1
        self.queues["orders.commands"].append(customer_cancel(self.cancels))

    def operator_resumes(self) -> None:
        self.requests += 1
        self.queues["saga.requests"].append(
            Message(
                "SagaResumeRequested",
                {
                    "order_id": ORDER,
                    "request_id": f"req-{self.requests}",
                    "note": "fixed",
                    "requested_at": self.now,
                },
            )
        )

    def redeliver(self, pick: int) -> Redelivery | None:
        """A trigger the saga already read, read again (a consumer rewound)."""
        if not self.handled:
            return None
        trigger = self.handled[pick % len(self.handled)]
        taken, before = trigger in self.taken, self.saga
        return Redelivery(trigger, taken, before, self.deliver_to_saga(trigger))

    def settle(self, max_rounds: int = 400) -> None:
        """Deliver everything queued; time out overdue steps; resume parked sagas."""
        for _ in range(max_rounds):
            pending = [t for t in TO_PARTICIPANTS + TO_SAGA if self.queues[t]]
            if pending:
                self.deliver(pending[0])
                continue
            saga = self.saga
            if saga is None or saga.status in (COMPLETED, COMPENSATED):
                return
            if saga.status == NEEDS_ATTENTION:
                self.operator_resumes()
            else:
                self.fire_timer()
        raise AssertionError(f"the saga did not finish: {self.saga}")


class Redelivery(NamedTuple):
    trigger: Message
    taken: bool  # it had added records when first read
    before: Saga | None
    records: list[Message]


def created_world(outcomes: Outcomes) -> World:
    world = World(outcomes)
    world.send_command("orders.commands", create_order())
    world.deliver("orders.events")  # OrderCreated: the saga starts and sends the charge
    return world


ACTIONS = (
    *(f"deliver {t}" for t in TO_SAGA + TO_PARTICIPANTS),
    *(f"lose {t}" for t in REPLY_TOPIC),
    "timer",  # a tick queues up
    "timeout",  # a tick queues up and is read at once
    "clock",
    "cancel",
    "resume",
    "redeliver",
    "redeliver",
)

outcomes_strategy = st.builds(Outcomes, st.booleans(), st.booleans(), st.booleans())
actions_strategy = runs(ACTIONS, max_length=80, max_arg=50)


def run(outcomes: Outcomes, actions: list[tuple[str, int]]) -> World:
    """Play ``actions``, then let the world settle."""
    world = created_world(outcomes)
    for action, arg in actions:
        verb, _, topic = action.partition(" ")
        if verb == "deliver":
            world.deliver(topic)
        elif verb == "lose":
            world.lose(topic)
        elif verb == "timer":
            world.fire_timer()
        elif verb == "timeout" and world.fire_timer():
            world.deliver_to_saga(world.queues["saga.ticks"].pop())
        elif verb == "clock":
            world.now += arg * 250
        elif verb == "cancel":
            world.customer_cancels()
        elif verb == "resume":
            world.operator_resumes()
        elif verb == "redeliver" and (again := world.redeliver(arg)) is not None:
            world.redeliveries.append(again)
    world.settle()
    return world


def timeline(saga: Saga, outcome: str) -> list[str]:
    return [e["step"] for e in saga.timeline if e["outcome"] == outcome]


def first_sent(saga: Saga) -> list[str]:
    """Steps in the order they were first sent."""
    steps: list[str] = []
    for step in timeline(saga, "sent"):
        if step not in steps:
            steps.append(step)
    return steps


def expected_undo(saga: Saga) -> list[str]:
    """The compensation of what happened (``done``) or may have (``uncertain``), newest
    first: the reverse of the order the forward steps were taken in."""
    taken = [*saga.done, *([saga.uncertain] if saga.uncertain else [])]
    return [COMPENSATION[s] for s in reversed(taken) if s in COMPENSATION]


# (a) ------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(outcomes_strategy, actions_strategy)
def test_a_finished_saga_has_the_order_confirmed_or_every_completed_step_undone(outcomes, actions):
    world = run(outcomes, actions)
    saga = world.saga
    assert saga is not None and saga.status in (COMPLETED, COMPENSATED)
    undone = set(timeline(saga, "succeeded")) & UNDO_STEPS
    effects = world.participants.held()
    assert world.order is not None
    if saga.status == COMPLETED:
        assert saga.done == FORWARD
        assert not undone and not saga.pending and not saga.order_cancelled
        assert world.order.status == CONFIRMED
        for step, held in effects.items():
            assert set(held) == {idempotency_key(SAGA, step)}  # money taken, stock, carrier
    else:
        for step in saga.done:
            assert step == "confirm" or COMPENSATION[step] in undone
        assert world.order.status == CANCELLED
        assert "cancel_order" in undone or saga.order_cancelled
        # What a participant did for a step the saga gave up on is undone too: nothing
        # is held for a cancelled order, once every late command has been read.
        assert effects == {"charge": {}, "reserve": {}, "schedule": {}}


# (b) ------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(outcomes_strategy, actions_strategy)
def test_compensation_runs_in_reverse_order_of_the_completed_forward_steps(outcomes, actions):
    world = run(outcomes, actions)
    for saga in world.states:  # at every step of the way, not only at the end
        expected = expected_undo(saga)
        undo_sent = [s for s in first_sent(saga) if s in COMPENSATION.values()]
        undo_done = [s for s in timeline(saga, "succeeded") if s in COMPENSATION.values()]
        assert undo_sent == expected[: len(undo_sent)]
        assert undo_done == expected[: len(undo_done)]
        if saga.status == COMPENSATED:
            assert undo_done == expected
        # No forward step is sent once the compensation began.
        sent = [e["step"] for e in saga.timeline if e["outcome"] == "sent"]
        undo_at = [i for i, step in enumerate(sent) if step in UNDO_STEPS]
        if undo_at:
            assert not set(sent[undo_at[0] :]) & set(FORWARD)


# (c) ------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(outcomes_strategy, actions_strategy)
def test_redelivering_a_trigger_the_saga_took_changes_nothing(outcomes, actions):
    world = run(outcomes, actions)
    for again in world.redeliveries:
        if again.taken and not an_old_tick_of_a_resumed_step(again):
            assert again.records == [], (again.trigger, [r.body for r in again.records])
    # A trigger read while it changed nothing may matter later: a reply read while the
    # saga was parked answers the step once an operator resumed it ("parked, not
    # dropped"), the participant's repeat of that reply too.
    final = world.saga
    for trigger in world.taken:
        assert decide(final, trigger, world.now + 10**9, POLICY) == []


def an_old_tick_of_a_resumed_step(again: Redelivery) -> bool:
    """The one redelivery the saga takes again, harmlessly: a tick is matched by step and
    attempt only, so after a resume restarted the attempts an old tick of the same attempt
    counts for the new sending, once that one is overdue too (so it does what the timer's
    own tick would do)."""
    name, before = again.trigger.name, again.before
    return (
        name == "SagaDeadlineReached"
        and before is not None
        and again.trigger["deadline_at"] != before.deadline_at
        and any(e["outcome"] == "resumed" for e in before.timeline)
    )


# (d) ------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(outcomes_strategy, actions_strategy)
def test_the_invariants_the_saga_modules_state(outcomes, actions):
    world = run(outcomes, actions)
    # Records: one saga per order (derived id), versions 1..n, ids from saga + version.
    assert [r["version"] for r in world.records] == list(range(1, len(world.records) + 1))
    for r in world.records:
        assert r["saga_id"] == SAGA and r["event_id"] == record_id(SAGA, r["version"])
    reason_when_undoing = None
    for saga in world.states:
        # Forward: charge -> reserve -> schedule -> confirm.
        assert saga.done == FORWARD[: len(saga.done)]
        # A saga that runs or compensates waits on a step with a deadline: the timer will
        # move it even when no answer ever comes (it never hangs).
        if saga.status in (RUNNING, COMPENSATING):
            assert saga.step is not None and saga.deadline_at is not None
            assert 1 <= saga.attempt <= POLICY.max_attempts
        # Only a compensation that keeps timing out parks the saga.
        if saga.status == NEEDS_ATTENTION:
            assert saga.step in UNDO_STEPS
        # The customer is told once per outcome.
        assert len(saga.notified) == len(set(saga.notified))
        assert ("order_confirmed" in saga.notified) == (saga.done == FORWARD)
        # The reason is the first cause of the compensation, kept from then on.
        if saga.status in (COMPENSATING, NEEDS_ATTENTION, COMPENSATED):
            if reason_when_undoing is None:
                reason_when_undoing = saga.reason
            assert saga.reason == reason_when_undoing
        else:
            reason_when_undoing = None  # (a completed saga cancelled later starts anew)
    final = world.saga
    assert final is not None
    kinds = [r["kind"] for r in world.records if r.name == "CustomerNotified"]
    assert kinds == list(final.notified)
    assert ("order_cancelled" in final.notified) == (final.status == COMPENSATED)
    # Attempt n of a step times out step_timeout_ms * backoff**(n-1) after it is sent.
    for r in world.records:
        if r.name == "SagaStepRecorded" and r["outcome"] == "sent":
            assert r["deadline_at"] - r["occurred_at"] == POLICY.deadline(0, r["attempt"])
    # Every sending of a participant's step carries the step's idempotency key (the same
    # on every retry) and a command id per attempt; an order command keeps one command id.
    for step, command in world.commands:
        key = idempotency_key(SAGA, step)
        if command.name in ("ConfirmOrder", "CancelOrder"):
            assert command["command_id"] == command_id_for(key, None)
        else:
            assert command["idempotency_key"] == key
            assert command["command_id"] == command_id_for(key, command["attempt"])


# Failures the properties found (each the shortest run found), fixed in ``decide``.


def time_out(world: World, times: int) -> None:
    for _ in range(times):
        assert world.fire_timer()
        world.deliver("saga.ticks")


def parked_at_the_refund() -> World:
    """Out of stock: the refund is sent, goes unanswered every attempt, the saga parks."""
    world = created_world(Outcomes(stock_ok=False))
    for topic in ("payments.commands", "payments.events", "inventory.commands"):
        world.deliver(topic)
    world.deliver("inventory.events")  # out of stock: the refund is sent
    time_out(world, POLICY.max_attempts)
    return world


def customer_cancelled(world: World) -> None:
    """The customer cancels and the saga reads the aggregate's OrderCancelled."""
    world.customer_cancels()
    world.deliver("orders.commands")
    world.deliver("orders.events")


def test_a_cancellation_read_while_parked_at_cancel_order_finishes_the_saga():
    """The payment is declined; the order aggregate does not answer CancelOrder in time
    (3 attempts), so the saga parks at ``cancel_order``. Then the aggregate cancels the
    order. The saga used to ignore that OrderCancelled while parked; a resume then sent
    CancelOrder again under the step's one command id, a duplicate answered with no event,
    and the saga parked at cancel_order for ever. The late answer now finishes it."""
    world = created_world(Outcomes(charge_ok=False))
    world.deliver("payments.commands")
    world.deliver("payments.events")  # PaymentDeclined: CancelOrder sent
    time_out(world, POLICY.max_attempts)
    saga = world.saga
    assert saga is not None and (saga.status, saga.step) == (NEEDS_ATTENTION, "cancel_order")
    world.deliver("orders.commands")  # the order is cancelled at last
    world.deliver("orders.events")
    saga = world.saga
    assert saga is not None and saga.status == COMPENSATED
    assert saga.notified == ("order_cancelled",)
    assert world.order_status() == CANCELLED


def test_a_customer_cancel_while_parked_at_another_undo_drops_cancel_order_from_the_plan():
    """Parked at the refund (unanswered 3 times), the customer cancels the order. Before,
    the saga ignored it, and once resumed its CancelOrder was refused (the order was
    cancelled), so it parked at cancel_order for ever. Now it stays parked at the refund
    with cancel_order gone from its plan, and the resumed refund finishes it."""
    world = parked_at_the_refund()
    customer_cancelled(world)
    saga = world.saga
    assert saga is not None and (saga.status, saga.step) == (NEEDS_ATTENTION, "refund")
    assert saga.order_cancelled and "cancel_order" not in saga.pending
    world.settle()  # the operator resumes the refund; it is answered this time
    saga = world.saga
    assert saga is not None and saga.status == COMPENSATED
    assert [e["step"] for e in saga.timeline if e["outcome"] == "sent"][-1] == "refund"


def test_a_redelivered_cancellation_changes_nothing():
    """The customer cancels while the charge is in flight: the saga compensates (refund
    in flight). The same OrderCancelled read again used to add a second
    ``order_cancelled`` record (version, timeline); a duplicate now changes nothing."""
    world = created_world(Outcomes())
    customer_cancelled(world)
    saga = world.saga
    assert saga is not None and (saga.status, saga.step) == (COMPENSATING, "refund")
    assert world.deliver_to_saga(world.handled[-1]) == []


def test_a_redelivered_resume_request_does_not_resume_the_saga_again():
    """The refund of a failed reservation goes unanswered and the saga parks; a resume
    sends it again; unanswered again, it parks again. The first resume request, read
    again, used to resume it again; a request is now taken once (``resumed_by``)."""
    world = parked_at_the_refund()
    world.operator_resumes()
    world.deliver("saga.requests")
    request = world.handled[-1]
    time_out(world, POLICY.max_attempts)
    saga = world.saga
    assert saga is not None and (saga.status, saga.step) == (NEEDS_ATTENTION, "refund")
    assert world.deliver_to_saga(request) == []
