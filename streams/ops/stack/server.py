"""What Kafka and Redis share: decide between local, already running and external; start,
wait until the server answers, stop."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from streams.config.redact import redact_url
from streams.ops.stack.address import HostPort, port_is_free
from streams.ops.stack.errors import StackError, blocked
from streams.ops.stack.process import PidFile, is_alive, terminate, wait_for


@dataclass(frozen=True)
class ServiceStatus:
    """What ``stack status`` knows about one service.

    ``managed`` is ``local`` (started by orderflow, pid recorded), ``external`` (someone
    else's server) or ``embedded`` (ClickHouse in-process through chdb).
    """

    up: bool
    address: str
    managed: str
    pid: int | None = None
    log: str | None = None
    data: str | None = None
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self).items() if value is not None}


class LocalServer(ABC):
    """A server that ``stack up`` may start on loopback, or leave alone when it is external."""

    name: str
    variable: str  # the environment variable holding the address, for error messages
    start_timeout_s: float
    stop_timeout_s: float

    def __init__(self, address: str, endpoint: HostPort | None, home: Path, marker: str) -> None:
        self.address = address  # what clients connect to, a password included
        self.shown = redact_url(address)  # what messages print
        self.endpoint = endpoint
        self.home = home
        self.pidfile = PidFile(home / f"{self.name}.pid", marker)

    @property
    @abstractmethod
    def log_path(self) -> Path:
        """The file to read when the server misbehaves."""

    @property
    def data_path(self) -> Path:
        """Where the server keeps its data."""
        return self.home

    @abstractmethod
    def answers(self) -> bool:
        """True when a server of this kind answers at the address (a real protocol check)."""

    @abstractmethod
    def launch(self) -> int:
        """Prepare files, start the server detached and return its pid."""

    def ports(self) -> list[tuple[HostPort, str]]:
        """Every port the local server listens on, with its role for error messages
        (empty for the service port); all must be free before it starts."""
        return [(self.endpoint, "")] if self.endpoint else []

    @property
    def is_local(self) -> bool:
        return self.endpoint is not None and self.endpoint.is_loopback

    def status(self) -> ServiceStatus:
        pid = self.pidfile.running_pid()
        up = self.answers()
        managed = "local" if pid or (self.is_local and not up) else "external"
        if managed == "external":
            return ServiceStatus(up=up, address=self.shown, managed=managed)
        return ServiceStatus(
            up=up,
            address=self.shown,
            managed=managed,
            pid=pid,
            log=str(self.log_path),
            data=str(self.data_path),
        )

    def up(self) -> str:
        """Make the service answer; what was done, e.g. ``started (pid 42) in 6.1 s``."""
        pid = self.pidfile.running_pid()
        if pid is not None:
            self._wait_until_ready(pid)
            return f"already running (pid {pid}) on {self.shown}"
        if self.answers():
            return f"external service answering at {self.shown}, left alone"
        if not self.is_local:
            raise StackError(
                f"{self.name}: {self.variable}={self.shown} does not answer, and orderflow "
                f"only starts services on loopback addresses; start that service, or unset "
                f"{self.variable} to use a local one"
            )
        for port, role in self.ports():
            if not port_is_free(port):
                raise blocked(
                    f"{self.name}: cannot start a local server: {port}{role} is already in use "
                    f"by another program that does not answer as a {self.name} server; stop "
                    f"that program, or choose another port in {self.variable}",
                    self.variable,
                )
        started = time.monotonic()
        pid = self.launch()
        self.pidfile.write(pid)
        self._wait_until_ready(pid)
        took = time.monotonic() - started
        return f"started (pid {pid}) on {self.shown} in {took:.1f} s, log {self.log_path}"

    def _wait_until_ready(self, pid: int) -> None:
        settled = wait_for(lambda: not is_alive(pid) or self.answers(), self.start_timeout_s)
        if not is_alive(pid):
            self.pidfile.remove()
            raise StackError(
                f"{self.name}: the server (pid {pid}) exited while starting; read {self.log_path}"
            )
        if not settled:
            terminate(pid, self.stop_timeout_s)
            self.pidfile.remove()
            raise StackError(
                f"{self.name}: the server (pid {pid}) did not answer on {self.shown} within "
                f"{self.start_timeout_s:.0f} s and was stopped; read {self.log_path}"
            )

    def down(self) -> str:
        """Stop the local server if orderflow started it; what was done."""
        pid = self.pidfile.running_pid()
        if pid is None:
            return "not running (nothing started by orderflow)"
        clean = terminate(pid, self.stop_timeout_s)
        self.pidfile.remove()
        if clean:
            return f"stopped (pid {pid})"
        return f"killed (pid {pid}) after it ignored SIGTERM for {self.stop_timeout_s:.0f} s"
