"""The fulfilment saga's state and ``evolve``: the only place saga records are folded.

A saga's history is its records: ``SagaStarted``, ``SagaStepRecorded`` (a command sent,
answered, timed out, ...) and ``CustomerNotified``. ``decide`` (``processors.saga.decide``)
produces them; ``evolve`` folds them; the table stores the folded state. Pure, no Faust.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from typing import Any

from streams.messages import Message, Record

RUNNING, COMPENSATING = "running", "compensating"
COMPLETED, COMPENSATED, NEEDS_ATTENTION = "completed", "compensated", "needs_attention"
STATES = (RUNNING, COMPENSATING, COMPLETED, COMPENSATED, NEEDS_ATTENTION)

FORWARD = ("charge", "reserve", "schedule", "confirm")
# Each forward step's semantic undo; ``confirm`` has none: ``cancel_order`` ends every
# compensation (unless the customer already cancelled the order).
COMPENSATION = {"charge": "refund", "reserve": "release", "schedule": "cancel_shipment"}
COMMAND = {
    "charge": Record.CHARGE_PAYMENT,
    "reserve": Record.RESERVE_INVENTORY,
    "schedule": Record.SCHEDULE_SHIPMENT,
    "confirm": Record.CONFIRM_ORDER,
    "refund": Record.REFUND_PAYMENT,
    "release": Record.RELEASE_INVENTORY,
    "cancel_shipment": Record.CANCEL_SHIPMENT,
    "cancel_order": Record.CANCEL_ORDER,
}

_NAMESPACE = uuid.UUID("0b8f7c52-3a8e-4d59-9a55-8f1f3c1d2e7a")


def saga_id_for(order_id: str) -> str:
    """One saga per order; derived, so an OrderCreated read twice starts the same saga."""
    return str(uuid.uuid5(_NAMESPACE, f"fulfilment:{order_id}"))


def idempotency_key(saga_id: str, step: str) -> str:
    """Saga + step: every retry of a step sends the same key."""
    return f"{saga_id}:{step}"


def record_id(saga_id: str, version: int) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{saga_id}:{version}"))


@dataclass(frozen=True)
class Saga:
    """One order's fulfilment saga, as folded from its records."""

    saga_id: str
    order_id: str
    mode: str
    correlation_id: str
    user_id: str
    amount_cents: int
    currency: str
    items: tuple[dict[str, Any], ...]
    status: str = RUNNING
    step: str | None = None  # the step whose command is in flight
    attempt: int = 0
    deadline_at: int | None = None
    done: tuple[str, ...] = ()  # forward steps that succeeded, in order
    uncertain: str | None = None  # a forward step that may or may not have taken effect
    pending: tuple[str, ...] = ()  # compensation steps still to run
    reason: str = ""
    order_cancelled: bool = False
    notified: tuple[str, ...] = ()
    resumed_by: tuple[str, ...] = ()  # the operators' resume requests taken (request ids)
    version: int = 0
    started_at: int = 0
    updated_at: int = 0
    timeline: tuple[dict[str, Any], ...] = ()
    partition: int = -1  # the table partition holding this saga (set by the agent)

    def to_dict(self) -> dict[str, Any]:
        # Shallow: the tuples and the dicts in them are never mutated, so sharing them is
        # safe, and ``asdict``'s deep copy cost more than deciding (it runs per trigger).
        return {name: getattr(self, name) for name in _FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Saga:
        fields = dict(data)
        for name in ("items", "done", "pending", "notified", "resumed_by", "timeline"):
            fields[name] = tuple(fields.get(name) or ())
        return cls(**fields)

    def compensation_plan(self) -> tuple[str, ...]:
        """Undo what may have happened, newest first, then cancel the order."""
        steps = ([self.uncertain] if self.uncertain else []) + list(reversed(self.done))
        plan = [COMPENSATION[s] for s in steps if s in COMPENSATION]
        return tuple(plan) + (() if self.order_cancelled else ("cancel_order",))


_FIELDS = tuple(f.name for f in fields(Saga))
_FIELD_SET = frozenset(_FIELDS)


def replace(saga: Saga, **changes: Any) -> Saga:
    """``dataclasses.replace`` for a Saga, without its per-call introspection of the
    fields and ``__init__`` (evolve runs it several times per record)."""
    if not changes.keys() <= _FIELD_SET:
        raise TypeError(f"Saga has no field {sorted(changes.keys() - _FIELD_SET)}")
    fresh = object.__new__(Saga)
    fresh.__dict__.update(saga.__dict__, **changes)
    return fresh


def evolve(saga: Saga | None, record: Message) -> Saga:
    """The saga after ``record``."""
    body = record.body
    if record.name == Record.SAGA_STARTED:
        return Saga(
            saga_id=body["saga_id"],
            order_id=body["order_id"],
            mode=body["mode"],
            correlation_id=body["correlation_id"],
            user_id=body["user_id"],
            amount_cents=body["amount_cents"],
            currency=body["currency"],
            items=tuple(dict(i) for i in body["items"]),
            version=body["version"],
            started_at=body["occurred_at"],
            updated_at=body["occurred_at"],
        )
    if saga is None:
        raise ValueError(f"{record.name} for order {body['order_id']} before SagaStarted")
    common = {"version": body["version"], "updated_at": body["occurred_at"]}
    if record.name == Record.CUSTOMER_NOTIFIED:
        return replace(saga, notified=(*saga.notified, body["kind"]), **common)
    return _evolve_step(replace(saga, **common), body)


def _evolve_step(saga: Saga, body: dict[str, Any]) -> Saga:
    step, outcome, state = body["step"], body["outcome"], body["saga_state"]
    entry = {
        key: body.get(key) for key in ("step", "command", "reply", "outcome", "reason", "attempt")
    }
    saga = replace(saga, timeline=(*saga.timeline, {**entry, "at": body["occurred_at"]}))
    if outcome == "resumed":  # caused by the operator's request: its id is the cause
        saga = replace(saga, resumed_by=(*saga.resumed_by, body["causation_id"]))
    if outcome == "order_cancelled":
        # The customer cancelled: a forward step in flight may or may not have happened.
        in_flight = saga.step if saga.status == RUNNING else None
        saga = replace(saga, order_cancelled=True, uncertain=saga.uncertain or in_flight)
        saga = replace(saga, pending=tuple(p for p in saga.pending if p != "cancel_order"))
    elif outcome == "timed_out" and state == COMPENSATING and step in FORWARD:
        saga = replace(saga, uncertain=step)  # gave up without knowing whether it happened
    if state == COMPENSATING and saga.status not in (COMPENSATING, NEEDS_ATTENTION):
        # Entering compensation: fix the plan from what is known (or feared) to have happened.
        # (A resumed saga keeps the plan it was parked with.)
        saga = replace(saga, pending=saga.compensation_plan())
    if outcome == "order_cancelled" and saga.status == COMPENSATING and saga.step is not None:
        # A compensation step is in flight: it goes on, its reply or deadline moves the saga.
        return replace(saga, reason=_first_cause(saga, state, body))
    if outcome == "sent":
        pending = saga.pending[1:] if saga.pending[:1] == (step,) else saga.pending
        return replace(
            saga,
            status=state,
            step=step,
            attempt=body["attempt"],
            deadline_at=body.get("deadline_at"),
            pending=pending,
        )
    done = (*saga.done, step) if outcome == "succeeded" and step in FORWARD else saga.done
    return replace(
        saga,
        status=state,
        done=done,
        step=saga.step if state == NEEDS_ATTENTION else None,
        deadline_at=None,
        reason=_first_cause(saga, state, body),
    )


def _first_cause(saga: Saga, state: str, body: dict[str, Any]) -> str:
    """The saga's reason: why it compensates, taken from the record that starts the
    compensation (a failed reply, the last timeout, the customer's cancellation, also of
    a completed saga) and kept from then on. What comes after (a retry's "no answer to
    attempt 1", a compensation step parked after its last attempt, an operator's note)
    is in the timeline, not in the reason."""
    undoing = (COMPENSATING, NEEDS_ATTENTION, COMPENSATED)
    if state in undoing and saga.status not in undoing:
        return body.get("reason") or saga.reason
    return saga.reason
