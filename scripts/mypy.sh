#!/usr/bin/env bash
# The type check of `make lint` and of scripts/test.sh (so CI's): mypy over streams,
# processors and sinks, strict on the pure modules; pyproject.toml's [tool.mypy] says which.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
exec "$VENV/bin/mypy" "$@"
