"""``orderflow worker``: one process per role (``streams.config.roles``), kept running, one
HTTP door.

The supervisor starts each role as ``orderflow worker --role ROLE``, restarts a role
process that exits on its own (after a growing pause), forwards SIGTERM/SIGINT to all of
them and waits for their clean stop. The children are killed by the kernel if the
supervisor itself dies (``PR_SET_PDEATHSIG``), so a ``kill -9`` of the supervisor is a
crash of the whole worker, never a set of orphans.

It answers HTTP on ``ORDERFLOW_WEB_PORT`` and forwards each request to the role that
serves the path; ``/health/`` is ready only when every role answers. ``/health/live`` is
the supervisor's own; ``/health/ready`` is ready when every role is, and ``/metrics`` is
the union of the roles' metrics and its own, each sample labelled with its ``role``
(``streams.runtime.metrics.merge_expositions``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import signal
import sys
import time

import aiohttp
from aiohttp import web

from streams.config.roles import ROLES, role_for_path, role_port
from streams.config.settings import Settings
from streams.runtime import metrics

log = logging.getLogger("orderflow.supervisor")

STOP_SECONDS = 25.0  # a role's clean stop; then it is killed
RESTART_PAUSES = (1.0, 2.0, 5.0, 10.0, 30.0)
STABLE_SECONDS = 60.0  # a role that ran this long restarts after the shortest pause
HEALTH_SECONDS = 3.0  # a role that does not answer its /health/ this fast is not answering
# A role's /metrics may ask the broker for its group's lag: within Prometheus's default
# scrape timeout (10 s), with time left to merge.
METRICS_SECONDS = 8.0
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class Supervisor:
    """The role processes of one worker and the HTTP door in front of them."""

    def __init__(self, settings: Settings, loglevel: str) -> None:
        self.settings, self.loglevel = settings, loglevel
        self.procs: dict[str, asyncio.subprocess.Process] = {}
        self.stopping = asyncio.Event()

    def role_env(self, role: str) -> dict[str, str]:
        env = dict(os.environ)
        env.pop("ORDERFLOW_AGENTS", None)
        env.update(
            ORDERFLOW_ROLE=role,
            ORDERFLOW_WEB_HOST="127.0.0.1",  # only the supervisor faces the outside
            ORDERFLOW_WEB_PORT=str(role_port(self.settings.web_port, role)),
        )
        return env

    async def keep_running(self, role: str) -> None:
        """Start ``role`` and restart it when it exits, after the next pause of
        ``RESTART_PAUSES`` (from the first again once it ran ``STABLE_SECONDS``).

        By hand: a supervisor's restart schedule, woken early by the stop, not a retry
        of a failing call that a library such as tenacity would wrap."""
        pauses = iter(RESTART_PAUSES)
        while not self.stopping.is_set():
            started = time.monotonic()
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "streams.cli.main", "worker", "--role", role,
                "-l", self.loglevel,
                env=self.role_env(role), preexec_fn=_die_with_parent,
            )  # fmt: skip
            self.procs[role] = proc
            log.info("role %s started (pid %d)", role, proc.pid)
            if self.stopping.is_set():  # the stop came while it was being started
                proc.send_signal(signal.SIGTERM)
            code = await proc.wait()
            if self.stopping.is_set():
                return
            if time.monotonic() - started > STABLE_SECONDS:
                pauses = iter(RESTART_PAUSES)
            pause = next(pauses, RESTART_PAUSES[-1])
            log.error("role %s (pid %d) exited with %s; restarting in %.0fs", role, proc.pid,
                      code, pause)  # fmt: skip
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), pause)

    async def stop_all(self) -> bool:
        """SIGTERM every role, kill those still running after ``STOP_SECONDS``; True if
        every one stopped cleanly."""
        running = [p for p in self.procs.values() if p.returncode is None]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        clean = True
        for proc in running:
            try:
                await asyncio.wait_for(proc.wait(), max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                log.error("pid %d did not stop within %.0fs; killing it", proc.pid, STOP_SECONDS)
                proc.kill()
                await proc.wait()
                clean = False
        return clean

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        door = HttpDoor(self.settings)
        await door.start()
        keepers = [asyncio.create_task(self.keep_running(role)) for role in ROLES]
        log.info("supervising %s; HTTP on %s", ", ".join(ROLES), self.settings.web_url)
        await self.stopping.wait()
        log.info("stopping every role")
        clean = await self.stop_all()
        await asyncio.gather(*keepers, return_exceptions=True)
        await door.stop()
        return 0 if clean else 1  # a role had to be killed: say so to systemd, Docker, ...


class HttpDoor:
    """Forwards each request to the role process that serves its path."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.session: aiohttp.ClientSession | None = None
        self.runner: web.AppRunner | None = None

    @property
    def client(self) -> aiohttp.ClientSession:
        if self.session is None:
            raise RuntimeError("the HTTP door is not started")
        return self.session

    def url(self, role: str, path_qs: str) -> str:
        return f"http://127.0.0.1:{role_port(self.settings.web_port, role)}{path_qs}"

    async def health(self, request: web.Request) -> web.Response:
        states = await asyncio.gather(*(self.role_health(role) for role in ROLES))
        roles = dict(zip(ROLES, states, strict=True))
        ok = all(state == "ok" for state in roles.values())
        return web.json_response(
            {"ok": ok, "app": self.settings.app_id, "roles": roles}, status=200 if ok else 503
        )

    async def role_health(self, role: str) -> str:
        """``ok``, or why not: every role is asked at once, each for ``HEALTH_SECONDS``."""
        try:
            async with self.client.get(
                self.url(role, "/health/"), timeout=aiohttp.ClientTimeout(total=HEALTH_SECONDS)
            ) as answer:
                return "ok" if answer.status == 200 else f"HTTP {answer.status}"
        except (aiohttp.ClientError, OSError):
            return "not answering"

    async def live(self, request: web.Request) -> web.Response:
        return web.json_response({"live": True, "app": self.settings.app_id})

    async def ready(self, request: web.Request) -> web.Response:
        answers = await asyncio.gather(*(self.ask(role, "/health/ready") for role in ROLES))
        roles = {}
        for role, (status, body) in zip(ROLES, answers, strict=True):
            roles[role] = (
                _json(body) if status is not None else {"ready": False, "error": "not answering"}
            )
        ready = all(status == 200 for status, _ in answers)
        return web.json_response(
            {"ready": ready, "app": self.settings.app_id, "roles": roles},
            status=200 if ready else 503,
        )

    async def metrics(self, request: web.Request) -> web.Response:
        scrapes = (self.ask(role, "/metrics", METRICS_SECONDS) for role in ROLES)
        answers = await asyncio.gather(*scrapes)
        texts = {
            role: body.decode()
            for role, (status, body) in zip(ROLES, answers, strict=True)
            if status == 200
        }
        up = metrics.role_up({role: role in texts for role in ROLES})
        own = metrics.generate_latest().decode() + up
        body = await asyncio.to_thread(metrics.merge_expositions, {"supervisor": own, **texts})
        return web.Response(body=body, headers={"Content-Type": metrics.CONTENT_TYPE})

    async def ask(
        self, role: str, path: str, seconds: float = HEALTH_SECONDS
    ) -> tuple[int | None, bytes]:
        """(status, body) of ``path`` on ``role``'s process; (None, b"") when it does not
        answer within ``seconds``. Every role is asked at once."""
        try:
            async with self.client.get(
                self.url(role, path), timeout=aiohttp.ClientTimeout(total=seconds)
            ) as answer:
                return answer.status, await answer.read()
        except (aiohttp.ClientError, OSError, TimeoutError):
            return None, b""

    async def forward(self, request: web.Request) -> web.Response:
        role = role_for_path(request.path)
        try:
            async with self.client.request(
                request.method, self.url(role, request.path_qs), data=await request.read()
            ) as answer:
                return web.Response(
                    body=await answer.read(), status=answer.status,
                    content_type=answer.content_type,
                )  # fmt: skip
        except (aiohttp.ClientError, OSError):
            return web.json_response(
                {"error": f"the {role} process is not answering (starting or restarting)"},
                status=503,
            )

    async def start(self) -> None:
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
        app = web.Application()
        app.router.add_get("/health/", self.health)
        app.router.add_get("/health/live", self.live)
        app.router.add_get("/health/ready", self.ready)
        app.router.add_get("/metrics", self.metrics)
        app.router.add_route("*", "/{tail:.*}", self.forward)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.settings.web_host, self.settings.web_port)
        await site.start()

    async def stop(self) -> None:
        if self.runner is None:
            raise RuntimeError("the HTTP door is not started")
        await self.runner.cleanup()
        await self.client.close()


def _json(body: bytes) -> dict:
    try:
        return json.loads(body)
    except ValueError:
        return {"ready": False, "error": "not a JSON answer"}


def supervise(settings: Settings, loglevel: str) -> int:
    log.setLevel(logging.INFO)  # what it starts, restarts and stops: worth a line each
    return asyncio.run(Supervisor(settings, loglevel).run())
