"""The import contracts in ``pyproject.toml`` ([tool.importlinter]) hold, and a back-import
breaks them: the check that ``make lint`` and ``scripts/test.sh`` run can fail."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(where: Path) -> subprocess.CompletedProcess[str]:
    # From ``where``: its packages come first on the path (before the editable install).
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(where / "pyproject.toml"), "--no-cache"],
        cwd=where, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def copy_of_the_project(tmp_path: Path) -> Path:
    for package in ("processors", "sinks", "streams"):
        shutil.copytree(ROOT / package, tmp_path / package,
                        ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_layers_import_inwards_only() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "0 broken" in result.stdout


def test_a_domain_module_that_imports_faust_breaks_the_contract(tmp_path: Path) -> None:
    project = copy_of_the_project(tmp_path)
    decide = project / "processors" / "saga" / "decide.py"
    decide.write_text(decide.read_text() + "\nimport faust  # a back-import\n")
    result = lint_imports(project)
    assert result.returncode == 1, result.stdout[-2000:]
    assert "The domain (orders, saga, participants) is pure" in result.stdout
    assert "BROKEN" in result.stdout and "processors.saga.decide -> faust" in result.stdout


def test_a_sink_that_imports_the_cli_breaks_the_contract(tmp_path: Path) -> None:
    project = copy_of_the_project(tmp_path)
    sink = project / "sinks" / "redis_sink.py"
    sink.write_text(sink.read_text() + "\nimport streams.cli.main  # a back-import\n")
    result = lint_imports(project)
    assert result.returncode == 1, result.stdout[-2000:]
    assert "Sinks know their store, not the runtime or the entry points BROKEN" in result.stdout


def test_an_adapter_that_imports_an_operation_breaks_the_layers(tmp_path: Path) -> None:
    project = copy_of_the_project(tmp_path)
    codec = project / "streams" / "adapters" / "codec.py"
    codec.write_text(codec.read_text() + "\nimport streams.ops.lag  # a back-import\n")
    result = lint_imports(project)
    assert result.returncode == 1, result.stdout[-2000:]
    assert "The layers of streams/" in result.stdout and "BROKEN" in result.stdout
    assert "streams.adapters.codec -> streams.ops.lag" in result.stdout
