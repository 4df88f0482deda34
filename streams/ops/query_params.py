"""Query parameters of the read side, checked before use, for HTTP and the CLI alike.

A view that reads ``int(request.query["limit"])`` answers ``limit=abc`` with a plain-text
500, which tells a client nothing about what it got wrong. Here each parameter is read
by a small parser that raises ``BadParameter`` naming it, and the HTTP views
(``streams.web.params.json_page``) turn that into ``{"error": ..., "parameter": ...}``
with status 400. The same parsers serve the CLI (``streams.ops.readside``), so a
parameter means the same thing over HTTP and on the command line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

# Identifiers in paths (order ids, user ids, skus): long enough for any UUID or
# prefixed id, short enough that a key lookup is never handed a megabyte.
MAX_ID_LENGTH = 200


class BadParameter(ValueError):
    """A request parameter that cannot be used; ``parameter`` names it."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter

    def body(self) -> dict[str, str]:
        return {"error": str(self), "parameter": self.parameter}


def only(query: Mapping[str, str], allowed: Iterable[str]) -> None:
    """Refuse a parameter the view does not know: a typo (``limt=5``) silently ignored
    would give a full answer the client did not ask for."""
    allowed = set(allowed)
    for name in query:
        if name not in allowed:
            known = ", ".join(sorted(allowed)) or "none"
            raise BadParameter(name, f"unknown parameter {name!r}; known: {known}")


def integer(query: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """``query[name]`` as an integer in ``[low, high]``, or ``default`` when absent."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(name, f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise BadParameter(name, f"{name} must be between {low} and {high}, got {value}")
    return value


def date(query: Mapping[str, str], name: str) -> dt.date | None:
    """``query[name]`` as an ISO date (``2026-11-26``), or None when absent."""
    raw = query.get(name)
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise BadParameter(name, f"{name} must be an ISO date (2026-11-26), got {raw!r}") from None


def identifier(name: str, raw: str | None) -> str | None:
    """A path or query identifier: printable, no slash, at most ``MAX_ID_LENGTH``."""
    if raw is None:
        return None
    if not raw or len(raw) > MAX_ID_LENGTH:
        raise BadParameter(name, f"{name} must have 1 to {MAX_ID_LENGTH} characters")
    if not raw.isprintable() or "/" in raw:
        raise BadParameter(name, f"{name} must be printable text without '/', got {raw!r}")
    return raw


def choice(query: Mapping[str, str], name: str, choices: Iterable[str]) -> str | None:
    """``query[name]`` when it is one of ``choices``, None when absent."""
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    choices = tuple(choices)
    if raw not in choices:
        raise BadParameter(name, f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def page_of(rows: list, limit: int) -> tuple[list, bool]:
    """The first ``limit`` rows and whether there were more (callers fetch ``limit + 1``)."""
    return rows[:limit], len(rows) > limit
