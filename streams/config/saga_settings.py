"""Saga and participant settings: timeouts, retries and failure injection.

Read once from the environment with the rest of :class:`streams.config.settings.Settings`
(``settings.saga``). Every failure rule is deterministic (a function of the command
alone), so a command re-processed after a crash gets the same answer as the first time.

=============================  ========  ===================================================
variable                       default   meaning
=============================  ========  ===================================================
SAGA_STEP_TIMEOUT_MS           10000     first deadline of a step (attempt 1)
SAGA_MAX_ATTEMPTS              3         sendings of a step's command before giving up
SAGA_BACKOFF                   2.0       attempt n waits timeout * backoff**(n-1)
SAGA_TICK_SECONDS              1.0       how often the timer scans for overdue steps
PAYMENT_DECLINE_ABOVE_CENTS    0         decline charges above this amount (0: never)
PAYMENT_DECLINE_RATE           0.0       decline this share of orders, by a hash of the id
INVENTORY_INITIAL_STOCK        100       ``N`` for every SKU, or ``SKU-1=0,SKU-2=5,*=100``
SHIPPING_UNSHIPPABLE_SKUS      (none)    comma list: shipments holding these SKUs fail
PARTICIPANT_DELAY_MS           0         participants wait this long before answering
PARTICIPANT_SILENT_COMMANDS    (none)    comma list of command names participants drop
                                         without answering (a participant that is down)
=============================  ========  ===================================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass


def _csv(raw: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (raw or "").split(",") if part.strip())


def parse_stock(raw: str) -> dict[str, int]:
    """``"100"`` or ``"SKU-1=0,SKU-2=5,*=100"`` into a mapping; ``"*"`` is every other SKU."""
    stock: dict[str, int] = {}
    for part in _csv(raw):
        sku, _, count = part.rpartition("=")
        stock[sku or "*"] = int(count)
    stock.setdefault("*", 100)
    return stock


@dataclass(frozen=True)
class SagaSettings:
    """How the saga waits and retries, and which failures the participants inject."""

    step_timeout_ms: int = 10_000
    max_attempts: int = 3
    backoff: float = 2.0
    tick_seconds: float = 1.0
    decline_above_cents: int = 0
    decline_rate: float = 0.0
    # Pairs, not a dict: Settings stays hashable.
    initial_stock: tuple[tuple[str, int], ...] = (("*", 100),)
    unshippable_skus: tuple[str, ...] = ()
    participant_delay_ms: int = 0
    silent_commands: tuple[str, ...] = ()

    def stock_for(self, sku: str) -> int:
        """Units of ``sku`` in stock before the first reservation."""
        stock = dict(self.initial_stock)
        return stock.get(sku, stock.get("*", 100))

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> SagaSettings:
        """Read the variables in the module docstring; a bad value raises ``ValueError``
        naming the variable."""
        env = dict(os.environ if env is None else env)

        def number(name: str, default, kind=int):
            raw = env.get(name)
            if raw in (None, ""):
                return default
            try:
                return kind(raw)
            except ValueError:
                raise ValueError(f"{name} must be a {kind.__name__}, got {raw!r}") from None

        try:
            stock = parse_stock(env.get("INVENTORY_INITIAL_STOCK") or "100")
        except ValueError:
            raise ValueError(
                "INVENTORY_INITIAL_STOCK must be N or SKU=N,...,*=N, got "
                f"{env.get('INVENTORY_INITIAL_STOCK')!r}"
            ) from None
        return cls(
            step_timeout_ms=number("SAGA_STEP_TIMEOUT_MS", 10_000),
            max_attempts=max(1, number("SAGA_MAX_ATTEMPTS", 3)),
            backoff=number("SAGA_BACKOFF", 2.0, float),
            tick_seconds=number("SAGA_TICK_SECONDS", 1.0, float),
            decline_above_cents=number("PAYMENT_DECLINE_ABOVE_CENTS", 0),
            decline_rate=number("PAYMENT_DECLINE_RATE", 0.0, float),
            initial_stock=tuple(stock.items()),
            unshippable_skus=_csv(env.get("SHIPPING_UNSHIPPABLE_SKUS")),
            participant_delay_ms=number("PARTICIPANT_DELAY_MS", 0),
            silent_commands=_csv(env.get("PARTICIPANT_SILENT_COMMANDS")),
        )


AGENT_GROUPS = ("orders", "projections", "saga", "payment", "inventory", "shipping")


def parse_agents(raw: str | None) -> tuple[str, ...]:
    """``ORDERFLOW_AGENTS``: which agent groups this worker runs (empty: all of them)."""
    agents = _csv(raw)
    unknown = [a for a in agents if a not in AGENT_GROUPS]
    if unknown:
        raise ValueError(
            f"ORDERFLOW_AGENTS names unknown agents {unknown}; known: {', '.join(AGENT_GROUPS)}"
        )
    return agents
