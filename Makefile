# The two commands of the README: `make demo` runs the pipeline, `make test` the tests.
ORDERS ?= 200

.PHONY: demo test chaos setup lint stack-down

demo:
	scripts/demo.sh $(ORDERS)

test:
	scripts/test.sh

# The soak of tests/faults/soak.py (MINUTES, RATE): results appended to RELIABILITY.md.
chaos:
	scripts/chaos.sh

setup:
	scripts/setup.sh

lint: setup
	.venv/bin/ruff check streams processors sinks tests bench
	.venv/bin/ruff format --check streams processors sinks tests bench
	scripts/mypy.sh
	.venv/bin/lint-imports --no-cache

stack-down:
	.venv/bin/orderflow stack down
