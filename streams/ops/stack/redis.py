"""A Redis server from the system's ``redis-server``, persisting with an append-only file."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from streams.config.settings import Settings
from streams.ops.stack.address import parse_redis_url
from streams.ops.stack.errors import StackError, blocked
from streams.ops.stack.process import spawn_detached
from streams.ops.stack.server import LocalServer

VARIABLE = "REDIS_URL"


def redis_answers(url: str, timeout_s: float = 1.0) -> bool:
    """True when a Redis server answers PING at ``url`` (a wrong password still counts)."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s)
    try:
        return bool(client.ping())
    except redis.AuthenticationError:
        return True  # it is a Redis server; the client will report the password itself
    except redis.RedisError:
        return False
    finally:
        client.close()


def redis_server_argv(binary: str, url: str, home: Path) -> list[str]:
    """The redis-server command line for the loopback address in ``url``.

    A password in ``url`` goes into ``<home>/auth.conf`` (mode 0600), read by the server
    as its config file: on the command line every user of the machine could read it
    with ``ps``.
    """
    endpoint = parse_redis_url(url)
    assert endpoint is not None
    if urlsplit(url).scheme == "rediss":
        raise StackError(
            "redis: the local Redis serves plain redis:// only; use a redis:// URL for it, "
            "or point REDIS_URL at a Redis server with TLS"
        )
    config = write_auth_config(url, home)
    argv = [binary] + ([str(config)] if config else [])
    argv += [
        "--bind", endpoint.host,
        "--port", str(endpoint.port),
        "--dir", str(home),
        "--appendonly", "yes",
        "--logfile", str(home / "redis.log"),
        "--daemonize", "no",
    ]  # fmt: skip
    return argv


def auth_config(url: str) -> str:
    """Redis config lines for the user and password of ``url`` ("" without a password):
    ``requirepass`` for the default user, or an ACL user with every right (and the
    default user off) for ``redis://name:password@host``."""
    parts = urlsplit(url)
    if not parts.password:
        return ""
    password = unquote(parts.password)
    user = unquote(parts.username or "") or "default"
    if user == "default":
        return f"requirepass {_quoted(password)}\n"
    return f"user default off\nuser {_quoted(user)} on {_quoted('>' + password)} ~* &* +@all\n"


def _quoted(value: str) -> str:
    """A redis.conf argument, double-quoted so spaces and quotes survive."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_auth_config(url: str, home: Path) -> Path | None:
    """Write ``<home>/auth.conf`` readable by its owner only; None without a password
    (an old file is removed, so a server started without one really has none)."""
    path = home / "auth.conf"
    text = auth_config(url)
    if not text:
        path.unlink(missing_ok=True)
        return None
    home.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)  # an older file may have had wider rights
        handle.write(text)
    return path


def install_redis_server(home: Path, echo: Callable[[str], None]) -> str:
    """Install Debian's redis-server with apt-get (root only); the binary's path."""
    log_path = home / "apt.log"
    echo(f"redis: redis-server is missing, installing it with apt-get (log {log_path})...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    home.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        for argv in (["apt-get", "update"], ["apt-get", "install", "-y", "redis-server"]):
            result = subprocess.run(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env
            )
            if result.returncode != 0:
                raise blocked(
                    f"redis: `{' '.join(argv)}` failed; read {log_path}, or install "
                    "redis-server yourself",
                    VARIABLE,
                )
    binary = shutil.which("redis-server")
    if binary is None:
        raise StackError(f"redis: apt-get installed redis-server but it is not on PATH; {log_path}")
    return binary


def find_redis_server(home: Path, echo: Callable[[str], None]) -> str:
    """The redis-server binary; installed with apt-get when missing and running as root."""
    binary = shutil.which("redis-server")
    if binary:
        return binary
    if os.geteuid() == 0 and shutil.which("apt-get"):
        return install_redis_server(home, echo)
    raise blocked(
        "redis: redis-server is not installed: install it (sudo apt-get install redis-server, "
        "or your system's redis package)",
        VARIABLE,
    )


class LocalRedis(LocalServer):
    """Redis under ``<data dir>/redis``: the append-only file, dump and ``redis.log``."""

    name = "redis"
    variable = VARIABLE
    start_timeout_s = 15.0
    stop_timeout_s = 15.0

    def __init__(self, settings: Settings, echo: Callable[[str], None] = print) -> None:
        # redis-server rewrites its process title to "redis-server host:port".
        super().__init__(
            settings.redis_url,
            parse_redis_url(settings.redis_url),
            settings.data_dir / "redis",
            "redis-server",
        )
        self.echo = echo

    @property
    def log_path(self) -> Path:
        return self.home / "redis.log"

    def answers(self) -> bool:
        return redis_answers(self.address)

    def launch(self) -> int:
        binary = find_redis_server(self.home, self.echo)
        self.home.mkdir(parents=True, exist_ok=True)
        # Output before redis opens its logfile (bad arguments) also lands in redis.log.
        argv = redis_server_argv(binary, self.address, self.home)
        return spawn_detached(argv, self.log_path, self.home)
