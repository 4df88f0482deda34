"""The worker's roles: which agent groups run together in one process.

Faust runs an app's agents on one event loop, so a single process uses one core however
many the machine has. ``orderflow worker`` therefore runs each role below as a process of
its own (``streams.ops.supervisor``), each with its own consumer group: the aggregate, the
saga with its participants, and the projections. Partitions stay the unit of scale: more
processes of a role (on more machines) share that role's partitions.

Each role process answers HTTP on a port of its own, after the supervisor's:
``ORDERFLOW_WEB_PORT + 1 + index``; the supervisor answers on ``ORDERFLOW_WEB_PORT`` and
forwards each path to the role that serves it.
"""

from __future__ import annotations

# role -> the agent groups (``ORDERFLOW_AGENTS`` names) it runs
ROLES: dict[str, tuple[str, ...]] = {
    "orders": ("orders",),
    "saga": ("saga", "payment", "inventory", "shipping"),
    "projections": ("projections",),
}
# HTTP paths and the role that serves them; anything else goes to the projections (the
# read side: orders, users, analytics and the embedded ClickHouse it owns).
PATH_ROLES: tuple[tuple[str, str], ...] = (("/sagas", "saga"), ("/inventory", "saga"))
READ_ROLE = "projections"


def role_port(web_port: int, role: str) -> int:
    """The HTTP port of ``role``'s process when the supervisor answers on ``web_port``."""
    return web_port + 1 + list(ROLES).index(role)


def role_for_path(path: str) -> str:
    """The role whose process serves the HTTP ``path``."""
    for prefix, role in PATH_ROLES:
        if path == prefix or path.startswith(prefix + "/"):
            return role
    return READ_ROLE
