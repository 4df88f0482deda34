#!/usr/bin/env bash
# The main job: install, start the stack, create topics, run the demo, stop everything.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
orders=${1:-200}

# The stack is stopped afterwards only if this script started it: a stack that was
# already running (someone's work) is used and left running, and the script says so.
stack_up() {
  orderflow stack status --json 2>/dev/null | python -c \
    'import json, sys; s = json.load(sys.stdin); sys.exit(0 if s["kafka"]["up"] and s["redis"]["up"] else 1)'
}
if stack_up; then
  echo "demo: using the stack already running (it stays running afterwards)"
else
  cleanup() { orderflow stack down || true; }
  trap cleanup EXIT INT TERM
  orderflow stack up
fi
orderflow topics create
orderflow demo --orders "$orders"
