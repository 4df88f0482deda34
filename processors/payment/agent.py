"""The payment participant's agent: ledger per order in ``payment_by_order``."""

from __future__ import annotations

import faust

from processors.idempotency import handle
from processors.participant_agent import SendReply, build_participant_agent
from processors.payment.domain import COMMANDS, PaymentRules, decide, evolve
from streams.codec import AvroCodec
from streams.deadletter import DeadLetters
from streams.messages import Message


def build_payment_agent(
    app: faust.App,
    *,
    commands: faust.TopicT,
    payment_by_order: faust.Table,
    send_reply: SendReply,
    rules: PaymentRules,
    codec: AvroCodec,
    dead_letters: DeadLetters,
    delay_ms: int = 0,
    silent: tuple[str, ...] = (),
):
    """Register ``charge_and_refund_payments``: commands keyed by order, like its table."""

    def apply(command: Message, now_ms: int) -> Message:
        order_id = command["order_id"]
        before = payment_by_order.get(order_id)
        after, reply = handle(
            before, command, now_ms, lambda lg, c, t: decide(lg, c, t, rules), evolve
        )
        if after is not before:
            payment_by_order[order_id] = after
        return reply

    return build_participant_agent(
        app,
        name="charge_and_refund_payments",
        commands=commands,
        accepts=COMMANDS,
        apply=apply,
        send_reply=send_reply,
        codec=codec,
        dead_letters=dead_letters,
        delay_ms=delay_ms,
        silent=silent,
    )
