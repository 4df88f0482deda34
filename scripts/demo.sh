#!/usr/bin/env bash
# The main job: install, start the stack, create topics, run the demo, stop everything.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
orders=${1:-200}

cleanup() { orderflow stack down || true; }
trap cleanup EXIT INT TERM

orderflow stack up
orderflow topics create
orderflow demo --orders "$orders"
