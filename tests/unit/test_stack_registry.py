"""The local schema registry of ``stack up --registry``: when it is part of the stack, the
addresses it refuses, and its one-line errors (no JVM started here)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from streams.cli.main import cli
from streams.cli.stack import stack
from streams.config.settings import Settings
from streams.ops.stack import registry as local_registry
from streams.ops.stack.errors import StackError
from streams.ops.stack.registry import LocalRegistry, registry_answers

pytestmark = pytest.mark.unit

cli.add_command(stack)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "ORDERFLOW_DATA_DIR": str(tmp_path / "data"),
        "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
        "REDIS_URL": "redis://127.0.0.1:2/0",
        "CLICKHOUSE_URL": "",
        "SCHEMA_REGISTRY_URL": "",
        **extra,
    }


def test_status_shows_the_registry_only_when_it_is_configured(tmp_path: Path) -> None:
    plain = CliRunner().invoke(cli, ["stack", "status", "--json"], env=_env(tmp_path))
    assert "registry" not in json.loads(plain.output)
    url = "http://user:pw@127.0.0.1:3/apis/ccompat/v7"
    result = CliRunner().invoke(
        cli, ["stack", "status", "--json"], env=_env(tmp_path, SCHEMA_REGISTRY_URL=url)
    )
    assert result.exit_code == 0, result.output
    registry = json.loads(result.output)["registry"]
    assert registry["up"] is False and registry["managed"] == "local"
    assert registry["address"] == "http://user:***@127.0.0.1:3/apis/ccompat/v7"
    assert "pw" not in result.output


def test_a_port_held_by_something_else_is_refused(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        url = f"http://127.0.0.1:{port}/apis/ccompat/v7"
        assert not registry_answers(url, timeout_s=0.5)  # it accepts, but never answers
        server = LocalRegistry(Settings.from_env(_env(tmp_path, SCHEMA_REGISTRY_URL=url)))
        server.answers = lambda: False  # type: ignore[method-assign] - no 2 s wait per call
        with pytest.raises(StackError, match=f"127.0.0.1:{port} is already in use"):
            server.up()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/",  # Apicurio's Confluent API is not at the root
        "https://127.0.0.1:{port}/apis/ccompat/v7",
        "http://u:p@127.0.0.1:{port}/apis/ccompat/v7",
    ],
)
def test_the_local_registry_refuses_what_it_cannot_serve(tmp_path: Path, url: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = Settings.from_env(_env(tmp_path, SCHEMA_REGISTRY_URL=url.format(port=port)))
    with pytest.raises(StackError, match="under /apis/ccompat/v7; set SCHEMA_REGISTRY_URL="):
        LocalRegistry(settings).up()


def test_without_mvn_the_build_says_what_to_install(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(local_registry.shutil, "which", lambda name: None)
    with pytest.raises(StackError, match=r"mvn \(Apache Maven\) is needed once.*apt-get install"):
        local_registry.ensure_registry(tmp_path, print)


def test_a_build_from_other_sources_is_not_reused(tmp_path: Path, monkeypatch) -> None:
    home = local_registry.registry_home(tmp_path)
    runner = home / "build" / "target" / local_registry.RUNNER
    runner.parent.mkdir(parents=True)
    runner.write_text("jar")
    marker = home / local_registry.COMPLETE_MARKER
    marker.write_text(f"{local_registry.APICURIO_VERSION} {local_registry.source_digest()}\n")
    monkeypatch.setattr(local_registry.shutil, "which", lambda name: None)
    assert local_registry.ensure_registry(tmp_path, print) == runner  # no mvn needed
    marker.write_text(f"{local_registry.APICURIO_VERSION} 0000\n")  # built from other sources
    with pytest.raises(StackError, match="mvn"):
        local_registry.ensure_registry(tmp_path, print)
