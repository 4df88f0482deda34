"""Option types shared by CLI commands: refused values get click's one-line error."""

from __future__ import annotations

import datetime as dt
import math

import click

from streams.config.timeparse import TimeParseError, parse_time


class Seconds(click.ParamType):
    """A duration in seconds, finite, above zero and at most ``most``.

    ``click.FloatRange`` lets ``nan`` through (every comparison with it is false), and a
    wait of zero, a negative one or ``inf`` is never what the user meant.
    """

    name = "seconds"

    def __init__(self, most: float) -> None:
        self.most = most

    def convert(self, value, param, ctx) -> float:
        if isinstance(value, float | int) and not isinstance(value, bool):
            seconds = float(value)
        else:
            try:
                seconds = float(value)
            except ValueError:
                self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not (math.isfinite(seconds) and 0 < seconds <= self.most):
            self.fail(
                f"{value!r} is not a number of seconds above 0, up to {self.most:g}", param, ctx
            )
        return seconds


class Time(click.ParamType):
    """A time as ``streams.config.timeparse`` reads it (ISO-8601 with a zone, an age such as
    ``2h``, ``earliest``), checked while the arguments are parsed: a bad one is a usage
    error before the command connects to anything. Converts to the text given; the
    command reads it with ``parse_time`` (``earliest`` and ages are relative to then)."""

    name = "time"

    def convert(self, value, param, ctx) -> str:
        if isinstance(value, dt.datetime):
            return value.isoformat()
        try:
            parse_time(value)
        except TimeParseError as exc:
            self.fail(str(exc), param, ctx)
        return value
