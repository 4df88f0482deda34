"""What the saga property tests' small worlds share: one order, its commands, and the real
participants (payment, inventory, shipping) answering their commands from their ledgers.

Used by ``test_saga_properties`` (orchestration) and ``test_choreography_properties``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from processors import idempotency
from processors.inventory import domain as inventory
from processors.payment import domain as payment
from processors.saga.state import saga_id_for
from processors.shipping import domain as shipping
from streams.messages import Message, Record

ORDER = "order-p"
SAGA = saga_id_for(ORDER)
T0 = 1_767_225_600_000
ITEMS = [{"sku": "SKU-1", "quantity": 2, "unit_price_cents": 1_250}]
TOTAL = 2 * 1_250
STOCK = 10  # units of SKU-1 before the order, when it is in stock

# Each participant's command topic and the topic of its replies.
REPLY_TOPIC = {
    "payments.commands": "payments.events",
    "inventory.commands": "inventory.events",
    "shipping.commands": "shipping.events",
}
# The forward step whose effect each participant holds, by the ledger entry holding it.
HELD = {"charge": ("payments.commands", "charged"), "reserve": ("inventory.commands", "reserved"),
        "schedule": ("shipping.commands", "booked")}  # fmt: skip


@dataclass(frozen=True)
class Outcomes:
    """What the participants answer a forward step, the first time they see its key."""

    charge_ok: bool = True
    stock_ok: bool = True
    ship_ok: bool = True


@dataclass
class Participants:
    """The three participants of one order, as their agents run them: a command's reply
    from ``processors.idempotency.handle`` and the participant's ``decide``/``evolve``;
    the money taken and the stock moved only by a reply decided now (a known key's reply
    is sent again without its effect), as ``processors.inventory.agent`` moves stock."""

    outcomes: Outcomes
    ledgers: dict[str, idempotency.Ledger | None] = field(default_factory=dict)
    money_taken: int = 0  # cents: charged minus refunded
    stock_taken: int = 0  # units of SKU-1: reserved minus released

    def answer(self, topic: str, command: Message, now: int) -> Message:
        decide_one, evolve = self.rules(topic)
        before = self.ledgers.get(topic)
        after, reply = idempotency.handle(before, command, now, decide_one, evolve)
        if after is not before:
            self.ledgers[topic] = after
            if reply.name == Record.PAYMENT_CHARGED:
                self.money_taken += reply["amount_cents"]
            elif reply.name == Record.PAYMENT_REFUNDED:
                self.money_taken -= reply["amount_cents"]
            self.stock_taken -= sum(inventory.stock_changes(reply).values())
        return reply

    def rules(self, topic: str) -> tuple[idempotency.Decide, idempotency.Evolve]:
        o = self.outcomes
        if topic == "payments.commands":
            rules = payment.PaymentRules(decline_rate=0.0 if o.charge_ok else 1.0)
            return (lambda ledger, c, t: payment.decide(ledger, c, t, rules)), payment.evolve
        if topic == "inventory.commands":
            units = STOCK if o.stock_ok else 0
            return (
                lambda ledger, c, t: inventory.decide(ledger, c, t, lambda _: units)
            ), inventory.evolve
        unshippable = frozenset() if o.ship_ok else frozenset({"SKU-1"})
        return (lambda ledger, c, t: shipping.decide(ledger, c, t, unshippable)), shipping.evolve

    def held(self) -> dict[str, dict[str, Any]]:
        """Forward step -> what its participant holds for the order (money, stock, carrier)."""
        return {
            step: (self.ledgers.get(topic) or {}).get(entry, {})
            for step, (topic, entry) in HELD.items()
        }


def order_command(name: str, command_id: str, **fields: Any) -> Message:
    body = {"command_id": command_id, "order_id": ORDER, "expected_version": None,
            "issued_at": T0, "correlation_id": "corr"}  # fmt: skip
    return Message(name, {**body, **fields})


def create_order() -> Message:
    return order_command("CreateOrder", "create-1", user_id="u1", items=ITEMS, currency="EUR")


def customer_cancel(n: int) -> Message:
    return order_command("CancelOrder", f"customer-cancel-{n}", reason="changed")


def runs(actions: Sequence[str], max_length: int, max_arg: int) -> st.SearchStrategy[Any]:
    """Lists of (action, argument) of a length drawn first: plain lists average a handful
    of actions, too few to reach a parked saga, a cancel racing the steps or a duplicate of
    a cancellation; these still shrink to short runs."""
    action = st.tuples(st.sampled_from(actions), st.integers(min_value=0, max_value=max_arg))
    return st.integers(min_value=0, max_value=max_length).flatmap(
        lambda n: st.lists(action, min_size=n, max_size=n)
    )
