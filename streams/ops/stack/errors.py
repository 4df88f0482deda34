"""The one exception type of the local stack, and the alternatives every message offers."""

from __future__ import annotations


class StackError(RuntimeError):
    """An expected failure of ``orderflow stack``: the message names the cause and a way out.

    The CLI prints it as ``error: <message>`` without a traceback and exits 1.
    """


# Appended to failures that block a local service, because the user can always use a
# service that runs elsewhere instead of the one this machine cannot start.
ALTERNATIVES = (
    "or point {variable} at an existing service, or run the full stack with `docker compose up`"
)


def blocked(message: str, variable: str) -> StackError:
    """A ``StackError`` for a local service that cannot start, with the ways around it."""
    return StackError(f"{message}; {ALTERNATIVES.format(variable=variable)}")
