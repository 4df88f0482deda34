"""Inventory: reserve and release stock per SKU, all lines or none. Pure, no Faust.

``decide`` reads the stock (SKU -> available units) and the order's ledger; ``evolve``
folds a reply into the ledger (``reserved``: reservation key -> lines; ``void``:
reservations released before they were made); ``stock_changes`` says how a reply moves
the stock. The agent applies both in one transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from processors.idempotency import Ledger, reply
from streams.messages import Message, Record

COMMANDS = frozenset({Record.RESERVE_INVENTORY, Record.RELEASE_INVENTORY})

Stock = Callable[[str], int]  # SKU -> units available now


def units_by_sku(items: Iterable[Mapping[str, Any]]) -> Counter[str]:
    """Units per SKU over order lines (a SKU may appear on several lines)."""
    units: Counter[str] = Counter()
    for line in items:
        units[line["sku"]] += int(line["quantity"])
    return units


def decide(ledger: Ledger, command: Message, now_ms: int, available: Stock) -> Message:
    """The reply to a reservation or release the ledger has not answered yet."""
    if command.name == Record.RELEASE_INVENTORY:
        key = command["reservation_key"]
        items = ledger.get("reserved", {}).get(key, [])
        return reply(
            Record.INVENTORY_RELEASED, command, ledger, now_ms,
            reservation_key=key, items=items, reason=command["reason"],
        )  # fmt: skip
    items = [{"sku": i["sku"], "quantity": int(i["quantity"])} for i in command["items"]]
    if command["idempotency_key"] in ledger.get("void", ()):
        return _failed(command, ledger, now_ms, items, "voided", "released before it was made")
    short = sorted(sku for sku, n in units_by_sku(items).items() if available(sku) < n)
    if short:
        reason = f"out of stock: {', '.join(short)}"
        return _failed(command, ledger, now_ms, items, "out_of_stock", reason)
    return reply(Record.INVENTORY_RESERVED, command, ledger, now_ms, items=items)


def _failed(
    command: Message,
    ledger: Ledger,
    now_ms: int,
    items: list[dict[str, Any]],
    code: str,
    reason: str,
) -> Message:
    return reply(
        Record.INVENTORY_RESERVATION_FAILED, command, ledger, now_ms,
        items=items, reason_code=code, reason=reason,
    )  # fmt: skip


def evolve(ledger: Ledger, event: Message) -> Ledger:
    """Fold an inventory reply into the order's ledger."""
    reserved = dict(ledger.get("reserved", {}))
    void = list(ledger.get("void", ()))
    if event.name == Record.INVENTORY_RESERVED:
        reserved[event["idempotency_key"]] = event["items"]
    elif event.name == Record.INVENTORY_RELEASED and not event["items"]:
        void.append(event["reservation_key"])  # released before reserved: void it
    elif event.name == Record.INVENTORY_RELEASED:
        reserved.pop(event["reservation_key"], None)
    return {**ledger, "reserved": reserved, "void": void}


def stock_changes(event: Message) -> Counter[str]:
    """SKU -> change of available units that ``event`` stands for."""
    if event.name == Record.INVENTORY_RESERVED:
        return Counter({sku: -n for sku, n in units_by_sku(event["items"]).items()})
    if event.name == Record.INVENTORY_RELEASED:
        return units_by_sku(event["items"])
    return Counter()
