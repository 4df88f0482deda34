"""What a command is handed: the process's services (``streams.bootstrap``), which the group
callback in ``streams.cli.main`` puts in click's context, or only their settings.

Nothing is built until a command asks for it: ``services.codec`` loads the schemas,
``services.redis`` opens a pool, on first use.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from streams.bootstrap import Services

pass_services = click.make_pass_decorator(Services)


def pass_settings(command: Callable[..., Any]) -> Callable[..., Any]:
    """Like ``click.pass_obj``, with the services' settings."""

    @functools.wraps(command)
    def with_settings(*args: Any, **kwargs: Any) -> Any:
        services = click.get_current_context().find_object(Services)
        assert services is not None, "the orderflow group callback builds the services"
        return command(services.settings, *args, **kwargs)

    return with_settings
