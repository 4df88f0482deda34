#!/usr/bin/env bash
# The test command: installs what is missing, starts a private stack (its own ports and
# data dir, so a running demo stack is left alone), runs every test tier, stops the stack.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
VENV=${VENV:-.venv}
export PATH="$PWD/$VENV/bin:$PATH"

export ORDERFLOW_DATA_DIR=${ORDERFLOW_TEST_DATA_DIR:-$PWD/.orderflow-test}
export KAFKA_BOOTSTRAP_SERVERS=${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:29092}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:26379/0}
export CLICKHOUSE_URL=${CLICKHOUSE_URL:-chdb://$ORDERFLOW_DATA_DIR/clickhouse-tests}
# The schema registry (Apicurio) for the Confluent interop tests only: the other tests
# run without SCHEMA_REGISTRY_URL, in orderflow's own single-object encoding.
export ORDERFLOW_TEST_SCHEMA_REGISTRY_URL=${ORDERFLOW_TEST_SCHEMA_REGISTRY_URL:-http://127.0.0.1:28081/apis/ccompat/v7}

cleanup() { orderflow stack down || true; }
trap cleanup EXIT INT TERM

orderflow schemas check
scripts/mypy.sh  # the type check fails the run before a stack starts
lint-imports --no-cache  # so do imports against the layers (pyproject.toml [tool.importlinter])
SCHEMA_REGISTRY_URL=$ORDERFLOW_TEST_SCHEMA_REGISTRY_URL orderflow stack up --registry
set +e
python -m pytest "$@"
status=$?
set -e
if [ "$status" = 5 ]; then
  echo "test: pytest collected no tests; that is a failure" >&2
  exit 1
fi
exit "$status"
