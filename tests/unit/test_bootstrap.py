"""The composition root builds a process's services once, when first asked for, and
importing the worker's app module builds nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from streams.bootstrap import bootstrap
from streams.config.settings import Settings

pytestmark = pytest.mark.unit

NOWHERE = {
    "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
    "REDIS_URL": "redis://127.0.0.1:1/0",
    "CLICKHOUSE_URL": "http://127.0.0.1:1",
}


def test_services_are_built_once_and_only_when_asked_for(tmp_path) -> None:
    settings = Settings.from_env({**NOWHERE, "ORDERFLOW_DATA_DIR": str(tmp_path)})
    services = bootstrap(settings)
    assert services.__dict__.keys() == {"settings", "worker", "clock"}  # nothing built yet
    assert services.codec is services.codec  # one codec per process
    assert services.redis is services.redis  # one pool; no connection made by building it
    assert services.new_redis() is not services.redis  # a writer's own, closed by it
    probe = services.new_redis(timeout=0.5).connection_pool.connection_kwargs
    assert probe["socket_timeout"] == probe["socket_connect_timeout"] == 0.5
    assert len(services.sink_factories()) == 2  # Redis, ClickHouse: built when called
    services.close()


def test_importing_the_app_module_builds_no_app(tmp_path) -> None:
    """``faust -A streams.app`` asks the module for ``app``; until then nothing is built
    (no Faust app, no data directory)."""
    code = (
        "import streams.app as m, sys; "
        "assert m._app is None; "
        "import os; print(os.path.exists(os.environ['ORDERFLOW_DATA_DIR'] + '/faust'))"
    )
    env = {**NOWHERE, "ORDERFLOW_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"
