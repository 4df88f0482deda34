#!/usr/bin/env bash
# The soak: a private stack (its own ports and data dir), minutes of orders with a random
# fault every ~30 s, the audit, and a section appended to RELIABILITY.md.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
VENV=${VENV:-.venv}
export PATH="$PWD/$VENV/bin:$PATH"

export ORDERFLOW_DATA_DIR=${ORDERFLOW_CHAOS_DATA_DIR:-$PWD/.orderflow-chaos}
export KAFKA_BOOTSTRAP_SERVERS=${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:28092}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:28379/0}

cleanup() { orderflow stack down || true; }
trap cleanup EXIT INT TERM

orderflow stack up
python -m tests.faults.soak --minutes "${MINUTES:-5}" --rate "${RATE:-10}" "$@"
