"""How every CLI command prints: a table for people, one JSON object for scripts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, NoReturn

import click

from streams.config.redact import mask_secrets
from streams.config.timeparse import from_millis


def emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, sort_keys=True, default=str))


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A plain aligned text table of ``columns`` from ``rows``.

    Kept by hand: tabulate's nearest format ("simple") pads every column two wider and
    right-aligns numbers unless told not to, and rich's tables fit themselves to the
    terminal's width; either would change what people and scripts read, for no gain
    over six lines."""
    cells = [[str(c) for c in columns]] + [
        ["" if row.get(c) is None else str(row.get(c)) for c in columns] for row in rows
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


class BadValue(click.BadParameter):
    """An option's value refused by the command itself: a usage error (exit 2) shown in
    one line, also where click reports it (its standalone mode prints the usage first)."""

    def show(self, file=None) -> None:
        where = f" (see `{self.ctx.command_path} --help`)" if self.ctx else ""
        click.echo(f"error: {self.format_message()}{where}", err=True)


def usage(message: str, option: str | None = None) -> NoReturn:
    """Refuse an option's value as a usage error (exit 2), like the values click itself
    refuses: one line naming the option, with where help is."""
    raise BadValue(message, ctx=click.get_current_context(silent=True), param_hint=option)


def fail(message: str, code: int = 1) -> NoReturn:
    """One line on stderr saying what is wrong, then a non-zero exit."""
    click.echo(f"error: {mask_secrets(message)}", err=True)  # a quoted URL keeps no password
    raise SystemExit(code)


# Human output shows what a person reads: times as ISO-8601 UTC, money in currency units,
# order lines as "2 x SKU-1 at 19.99". ``--json`` keeps the wire units (epoch ms, cents).


def when(ms: int | None) -> str:
    """Epoch milliseconds as ISO-8601 UTC; empty for none."""
    return from_millis(int(ms)) if ms else ""


def money(cents: int | str | None, currency: str | None = None) -> str:
    """Integer cents as ``1,234.50 EUR`` (exact: a sum beyond 64 bits arrives as a string)."""
    if cents is None or cents == "":
        return ""
    units = Decimal(int(cents)) / 100
    return f"{units:,.2f}" + (f" {currency}" if currency else "")


def items_text(items: Sequence[dict] | None, currency: str | None = None) -> str:
    """Order lines as ``2 x SKU-1 at 19.99 EUR, 1 x SKU-2 at 5.00 EUR``."""
    return ", ".join(
        f"{line['quantity']} x {line['sku']} at {money(line['unit_price_cents'], currency)}"
        for line in items or []
    )


def readable(record: dict[str, Any]) -> dict[str, Any]:
    """An order-like record for people: ``*_at`` times in ISO UTC, ``*_cents`` as money
    (the key without ``_cents``), ``items`` as text, None as empty."""
    currency = record.get("currency")
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key.endswith("_at") and isinstance(value, int):
            out[key] = when(value)
        elif key.endswith("_cents"):
            out[key.removesuffix("_cents")] = money(value, currency)
        elif key == "items":
            out[key] = items_text(value, currency)
        else:
            out[key] = "" if value is None else value
    return out


def fields(record: dict[str, Any]) -> str:
    """``key: value`` lines, keys right-aligned, in the record's order."""
    width = max((len(k) for k in record), default=0)
    return "\n".join(f"{key:>{width}}: {value}" for key, value in record.items())
