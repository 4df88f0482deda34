"""The redis-server command line and what happens when the binary is missing."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.ops.stack import redis as stack_redis
from streams.ops.stack.errors import StackError

pytestmark = pytest.mark.unit


def test_argv_binds_loopback_and_appends_only(tmp_path: Path) -> None:
    argv = stack_redis.redis_server_argv("redis-server", "redis://127.0.0.1:26379/3", tmp_path)
    options = dict(zip(argv[1::2], argv[2::2], strict=True))
    assert options["--bind"] == "127.0.0.1" and options["--port"] == "26379"
    assert options["--appendonly"] == "yes" and options["--dir"] == str(tmp_path)
    assert options["--logfile"] == str(tmp_path / "redis.log")
    assert "--requirepass" not in options


def test_password_goes_to_a_private_config_file_not_the_command_line(tmp_path: Path) -> None:
    argv = stack_redis.redis_server_argv("redis-server", "redis://:s3cret@localhost:1/0", tmp_path)
    assert not any("s3cret" in arg for arg in argv)  # `ps` shows every argument
    config = Path(argv[1])
    assert config.parent == tmp_path and config.stat().st_mode & 0o777 == 0o600
    assert config.read_text() == 'requirepass "s3cret"\n'


def test_acl_user_in_url_becomes_the_only_user(tmp_path: Path) -> None:
    url = "redis://app:p%40ss%22w@localhost:1/0"  # '@' and '"' in the password
    assert stack_redis.auth_config(url) == (
        'user default off\nuser "app" on ">p@ss\\"w" ~* &* +@all\n'
    )


def test_no_password_leaves_no_config_file(tmp_path: Path) -> None:
    stack_redis.redis_server_argv("redis-server", "redis://:old@localhost:1/0", tmp_path)
    argv = stack_redis.redis_server_argv("redis-server", "redis://localhost:1/0", tmp_path)
    assert argv[1] == "--bind" and not (tmp_path / "auth.conf").exists()


def test_local_redis_refuses_a_tls_url(tmp_path: Path) -> None:
    with pytest.raises(StackError, match="redis://"):
        stack_redis.redis_server_argv("redis-server", "rediss://localhost:1/0", tmp_path)


def test_missing_binary_without_root_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stack_redis.shutil, "which", lambda name: None)
    monkeypatch.setattr(stack_redis.os, "geteuid", lambda: 1000)
    with pytest.raises(StackError) as raised:
        stack_redis.find_redis_server(tmp_path, print)
    message = str(raised.value)
    assert "apt-get install redis-server" in message and "REDIS_URL" in message


def test_nothing_answers_on_a_closed_port() -> None:
    assert stack_redis.redis_answers("redis://127.0.0.1:1/0", timeout_s=0.5) is False
