"""How every CLI command prints: a table for people, one JSON object for scripts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

from streams.redact import mask_secrets


def emit_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, sort_keys=True, default=str))


def table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    """A plain aligned text table of ``columns`` from ``rows``."""
    cells = [[str(c) for c in columns]] + [
        ["" if row.get(c) is None else str(row.get(c)) for c in columns] for row in rows
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def fail(message: str, code: int = 1) -> None:
    """One line on stderr saying what is wrong, then a non-zero exit."""
    click.echo(f"error: {mask_secrets(message)}", err=True)  # a quoted URL keeps no password
    raise SystemExit(code)
