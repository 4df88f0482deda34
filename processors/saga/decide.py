"""The orchestrator's ``decide``: a trigger (an order event, a participant's reply, an
overdue deadline) and the saga's state in, the saga's new records out. Pure, no Faust.

Forward: charge -> reserve -> schedule -> confirm, then the customer is notified. A step
that fails, or times out after ``max_attempts`` sendings, starts the compensation: undo
what happened (and what may have happened), newest first, then cancel the order. A
compensation that keeps timing out parks the saga as ``needs_attention``, until an
operator's ``SagaResumeRequested`` sends that step again. Replies that do
not answer the step in flight (duplicates, late answers to a step given up on) change
nothing; compensating a step given up on is what makes a late effect harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from processors.saga.state import (
    COMMAND,
    COMPENSATED,
    COMPENSATING,
    COMPLETED,
    FORWARD,
    NEEDS_ATTENTION,
    RUNNING,
    Saga,
    evolve,
    idempotency_key,
    record_id,
    saga_id_for,
)
from streams.messages import Message, Record

# Reply event -> (the step it answers, whether the step succeeded).
REPLIES: dict[str, tuple[str, bool]] = {
    Record.PAYMENT_CHARGED: ("charge", True),
    Record.PAYMENT_DECLINED: ("charge", False),
    Record.INVENTORY_RESERVED: ("reserve", True),
    Record.INVENTORY_RESERVATION_FAILED: ("reserve", False),
    Record.SHIPMENT_SCHEDULED: ("schedule", True),
    Record.SHIPMENT_FAILED: ("schedule", False),
    Record.ORDER_CONFIRMED: ("confirm", True),
    Record.PAYMENT_REFUNDED: ("refund", True),
    Record.INVENTORY_RELEASED: ("release", True),
    Record.SHIPMENT_CANCELLED: ("cancel_shipment", True),
}
TRIGGERS = frozenset(
    {
        *REPLIES,
        Record.ORDER_CREATED,
        Record.ORDER_CANCELLED,
        Record.SAGA_DEADLINE_REACHED,
        Record.SAGA_RESUME_REQUESTED,
    }
)


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt n of a step times out ``step_timeout_ms * backoff**(n-1)`` after sending.

    No retry library: the attempt and its deadline are the saga's changelogged state,
    acted on when the deadline timer's tick comes back through the log, so they survive
    a restart; nothing here waits in a loop."""

    step_timeout_ms: int = 10_000
    max_attempts: int = 3
    backoff: float = 2.0

    def deadline(self, now_ms: int, attempt: int) -> int:
        return now_ms + int(self.step_timeout_ms * self.backoff ** (attempt - 1))


class Recorder:
    """Collects records, folding each one at once so the next sees the new state."""

    def __init__(self, saga: Saga | None, now_ms: int, cause: str, mode: str) -> None:
        self.saga, self.now, self.cause, self.mode = saga, now_ms, cause, mode
        self.records: list[Message] = []

    @property
    def state(self) -> Saga:
        """The saga so far: ``decide`` steers only a saga that has started."""
        if self.saga is None:
            raise RuntimeError("a saga step decided before SagaStarted")
        return self.saga

    def add(self, name: str, saga_id: str, order_id: str, correlation_id: str, **body: Any) -> None:
        version = (self.saga.version if self.saga else 0) + 1
        envelope = {
            "event_id": record_id(saga_id, version),
            "order_id": order_id,
            "version": version,
            "occurred_at": self.now,
            "correlation_id": correlation_id,
            "causation_id": self.cause,
            "saga_id": saga_id,
        }
        record = Message(name, {**envelope, **body})
        self.saga = evolve(self.saga, record)
        self.records.append(record)

    def step(self, step: str, outcome: str, state: str, **body: Any) -> None:
        s = self.state
        body = {"command": COMMAND.get(step, ""), "reason": "", "attempt": s.attempt, **body}
        self.add(
            Record.SAGA_STEP_RECORDED, s.saga_id, s.order_id, s.correlation_id,
            mode=s.mode, step=step, outcome=outcome, saga_state=state, **body,
        )  # fmt: skip


def decide(saga: Saga | None, trigger: Message, now_ms: int, policy: RetryPolicy) -> list[Message]:
    """The records ``trigger`` adds to ``saga`` (possibly none)."""
    cause = (
        trigger.get("event_id")
        or trigger.get("request_id")
        or f"deadline:{trigger.get('step')}:{trigger.get('attempt')}"
    )
    rec = Recorder(saga, now_ms, cause, "orchestration")
    name = trigger.name
    if name == Record.ORDER_CREATED:
        if saga is None:
            _start(rec, trigger, policy)
    elif name == Record.SAGA_RESUME_REQUESTED:
        # One resume per request: the same request read again (a rewound consumer) after
        # the saga parked again must not resume it again.
        if (
            saga is not None
            and saga.status == NEEDS_ATTENTION
            and trigger["request_id"] not in saga.resumed_by
        ):
            _resume(rec, trigger, policy)
    elif saga is None or saga.status == COMPENSATED:
        pass  # nothing to steer: unknown order, or a saga that is over
    elif name == Record.ORDER_CANCELLED:
        # Once: an order is cancelled once, a second OrderCancelled is the same one again.
        if not saga.order_cancelled:
            _on_order_cancelled(rec, trigger, policy)
    elif saga.status == NEEDS_ATTENTION:
        pass  # parked: replies wait in the log's past, the timer and retries have stopped
    elif name == Record.SAGA_DEADLINE_REACHED:
        _on_deadline(rec, trigger, policy)
    elif name in REPLIES:
        _on_reply(rec, trigger, policy)
    return rec.records


def _start(rec: Recorder, created: Message, policy: RetryPolicy) -> None:
    body = created.body
    items = [{"sku": i["sku"], "quantity": int(i["quantity"])} for i in body["items"]]
    saga_id = saga_id_for(body["order_id"])
    rec.add(
        Record.SAGA_STARTED, saga_id, body["order_id"], body["correlation_id"],
        mode=rec.mode, user_id=body["user_id"], amount_cents=body["total_cents"],
        currency=body["currency"], items=items,
    )  # fmt: skip
    _send(rec, "charge", 1, RUNNING, policy)


def _send(rec: Recorder, step: str, attempt: int, state: str, policy: RetryPolicy) -> None:
    deadline = policy.deadline(rec.now, attempt)
    rec.step(step, "sent", state, attempt=attempt, deadline_at=deadline)


def _answers(saga: Saga, trigger: Message, step: str) -> bool:
    if saga.step != step or saga.status not in (RUNNING, COMPENSATING):
        return False
    key = trigger.get("idempotency_key")
    # OrderConfirmed/OrderCancelled carry no key: the step in flight is enough.
    return key is None or key == idempotency_key(saga.saga_id, step)


def _on_reply(rec: Recorder, reply: Message, policy: RetryPolicy) -> None:
    step, ok = REPLIES[reply.name]
    saga = rec.state
    if not _answers(saga, reply, step):
        return
    reason = reply.get("reason") or ""
    if not ok:
        rec.step(step, "failed", COMPENSATING, reply=reply.name, reason=reason)
        _next_compensation(rec, policy)
    elif saga.status == COMPENSATING:
        rec.step(step, "succeeded", COMPENSATING, reply=reply.name)
        _next_compensation(rec, policy)
    elif step == "confirm":
        rec.step(step, "succeeded", COMPLETED, reply=reply.name)
        rec.step("saga", "completed", COMPLETED, attempt=0)
        _notify(rec, "order_confirmed", "Your order is confirmed and will ship soon.")
    else:
        rec.step(step, "succeeded", RUNNING, reply=reply.name)
        _send(rec, FORWARD[FORWARD.index(step) + 1], 1, RUNNING, policy)


def _on_order_cancelled(rec: Recorder, event: Message, policy: RetryPolicy) -> None:
    """The order is cancelled: the answer to ``cancel_order`` (in flight, or parked after
    its last attempt: a late answer still finishes it), or the customer's own cancel."""
    saga = rec.state
    reason = event.get("reason") or ""
    parked = saga.status == NEEDS_ATTENTION
    if saga.step == "cancel_order" and (parked or saga.status == COMPENSATING):
        rec.step("cancel_order", "succeeded", COMPENSATING, reply=event.name, reason=reason)
        _next_compensation(rec, policy)
        return
    # The customer's cancel: the plan loses its cancel_order (the aggregate would refuse it).
    rec.step("order", "order_cancelled", NEEDS_ATTENTION if parked else COMPENSATING,
             reply=event.name, reason=reason)  # fmt: skip
    if parked or (saga.status == COMPENSATING and saga.step is not None):
        return  # a parked undo waits for an operator's resume; one in flight goes on
    _next_compensation(rec, policy)


def _on_deadline(rec: Recorder, tick: Message, policy: RetryPolicy) -> None:
    saga = rec.state
    step, attempt = tick["step"], tick["attempt"]
    if saga.step != step or saga.attempt != attempt or saga.deadline_at is None:
        return  # a stale tick: the step was answered or retried since
    if rec.now < saga.deadline_at:
        return
    if attempt < policy.max_attempts:
        rec.step(step, "timed_out", saga.status, reason=f"no answer to attempt {attempt}")
        _send(rec, step, attempt + 1, saga.status, policy)
        return
    reason = f"{step} timed out after {attempt} attempts"
    if saga.status == COMPENSATING:
        rec.step(step, "needs_attention", NEEDS_ATTENTION, reason=reason)
        return
    rec.step(step, "timed_out", COMPENSATING, reason=reason)
    _next_compensation(rec, policy)


def _resume(rec: Recorder, request: Message, policy: RetryPolicy) -> None:
    """Send the compensation step the saga gave up on again, from attempt 1; what is
    still pending after it follows as usual."""
    step = rec.state.step
    if step is None:
        raise RuntimeError("a parked saga without the step it gave up on")
    note = request.get("note") or ""
    rec.step(step, "resumed", COMPENSATING, reply=request.name, reason=note)
    _send(rec, step, 1, COMPENSATING, policy)


def _next_compensation(rec: Recorder, policy: RetryPolicy) -> None:
    saga = rec.state
    if saga.pending:
        _send(rec, saga.pending[0], 1, COMPENSATING, policy)
        return
    rec.step("saga", "compensated", COMPENSATED, attempt=0, reason=saga.reason)
    if "order_cancelled" not in rec.state.notified:
        _notify(rec, "order_cancelled", f"Your order was cancelled: {saga.reason}.")


def _notify(rec: Recorder, kind: str, message: str) -> None:
    """The one step that cannot be undone: once per outcome (``notified`` remembers)."""
    s = rec.state
    if kind in s.notified:
        return
    rec.add(
        Record.CUSTOMER_NOTIFIED, s.saga_id, s.order_id, s.correlation_id,
        user_id=s.user_id, kind=kind, message=message,
    )  # fmt: skip
