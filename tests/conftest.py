"""Shared fixtures. Integration tests talk to the real services named by the environment
(KAFKA_BOOTSTRAP_SERVERS, REDIS_URL, CLICKHOUSE_URL) that `make test` starts."""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from pathlib import Path

import pytest

from streams.config.logs import RepeatFilter
from streams.config.redact import SecretFilter
from streams.config.settings import Settings


@pytest.fixture
def namespace() -> str:
    """A fresh namespace: unique topics, consumer groups, Redis keys and ClickHouse database."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def settings(namespace: str, tmp_path: Path) -> Settings:
    env = dict(os.environ)
    env["ORDERFLOW_NAMESPACE"] = namespace
    env.setdefault("ORDERFLOW_DATA_DIR", str(tmp_path / "data"))
    # The test process owns one embedded ClickHouse directory for the whole session
    # (chdb allows one directory per process); tests isolate by database, not directory.
    env.setdefault("CLICKHOUSE_URL", f"chdb://{_session_chdb_dir()}")
    return Settings.from_env(env)


_CHDB_DIR: list[Path] = []


def _session_chdb_dir() -> Path:
    if not _CHDB_DIR:
        _CHDB_DIR.append(Path(tempfile.mkdtemp(prefix="orderflow-test-chdb-")))
    return _CHDB_DIR[0]


@pytest.fixture(autouse=True)
def _log_filters_stay_in_their_test():
    """A CLI command run in-process (``CliRunner``) puts orderflow's filters on the root
    logger's handlers (``streams.config.logs.install``), and pytest's capture handlers live
    for the whole session: the repeat filter would then swallow a later test's record that
    an earlier test logged too. Each test starts with the handlers as pytest made them."""
    yield
    for handler in logging.getLogger().handlers:
        handler.filters = [
            f for f in handler.filters if not isinstance(f, (RepeatFilter, SecretFilter))
        ]
