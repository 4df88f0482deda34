"""Payment: charge and refund, with declines by rule. Pure ``decide``/``evolve``, no Faust.

The ledger (``processors.idempotency``) of an order also holds ``charged`` (charge key ->
cents) and ``void`` (charge keys refunded before they were charged: such a charge, if it
arrives late, is declined, so a saga that gave up on a charge never leaves money taken).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from processors.idempotency import Ledger, reply, share_of
from streams.messages import Message, Record

COMMANDS = frozenset({Record.CHARGE_PAYMENT, Record.REFUND_PAYMENT})


@dataclass(frozen=True)
class PaymentRules:
    """Declines by rule: above an amount (0: no limit), or a deterministic share of orders."""

    decline_above_cents: int = 0
    decline_rate: float = 0.0


def decide(ledger: Ledger, command: Message, now_ms: int, rules: PaymentRules) -> Message:
    """The reply to a charge or refund the ledger has not answered yet."""
    money = {"amount_cents": command["amount_cents"], "currency": command["currency"]}
    if command.name == Record.REFUND_PAYMENT:
        charged = ledger.get("charged", {}).get(command["charge_key"], 0)
        return reply(
            Record.PAYMENT_REFUNDED, command, ledger, now_ms,
            charge_key=command["charge_key"], amount_cents=charged,
            currency=command["currency"], reason=command["reason"],
        )  # fmt: skip
    key = command["idempotency_key"]
    if key in ledger.get("void", ()):
        return _declined(command, ledger, now_ms, money, "voided", "refunded before it was charged")
    if 0 < rules.decline_above_cents < command["amount_cents"]:
        limit = rules.decline_above_cents
        return _declined(
            command, ledger, now_ms, money, "amount_over_limit", f"amount over limit {limit}"
        )
    if share_of(command["order_id"]) < rules.decline_rate:
        return _declined(command, ledger, now_ms, money, "card_declined", "card declined")
    payment_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"payment:{key}"))
    return reply(Record.PAYMENT_CHARGED, command, ledger, now_ms, payment_id=payment_id, **money)


def _declined(
    command: Message, ledger: Ledger, now_ms: int, money: dict[str, Any], code: str, reason: str
) -> Message:
    return reply(
        Record.PAYMENT_DECLINED, command, ledger, now_ms, reason_code=code, reason=reason, **money
    )


def evolve(ledger: Ledger, event: Message) -> Ledger:
    """Fold a payment reply's effect: money taken or given back, a charge voided."""
    charged = dict(ledger.get("charged", {}))
    void = list(ledger.get("void", ()))
    if event.name == Record.PAYMENT_CHARGED:
        charged[event["idempotency_key"]] = event["amount_cents"]
    elif event.name == Record.PAYMENT_REFUNDED and charged.pop(event["charge_key"], None) is None:
        void.append(event["charge_key"])
    return {**ledger, "charged": charged, "void": void}
