# The README's commands. Every target bootstraps its own virtualenv.
VENV   ?= .venv
PYTHON ?= python3
BIN     = $(VENV)/bin
DEMO_ARGS ?=
BENCH_ARGS ?=
# The AsyncAPI validator of tests/api/test_asyncapi.py (@asyncapi/parser, pinned by tests/asyncapi/package-lock.json)
ASYNCAPI_VALIDATOR = .cache/asyncapi

.PHONY: install asyncapi-validator unit test lint typecheck pytest demo chaos bench clean

$(BIN)/.installed: pyproject.toml
	@echo "installing nfsync and its tools into $(VENV)" >&2
	@$(PYTHON) -m venv $(VENV) >&2
	@$(BIN)/pip install -q --upgrade pip >&2
	@$(BIN)/pip install -q -e '.[dev]' >&2
	@touch $@

install: $(BIN)/.installed

# npm ci from the committed lockfile (no install scripts run); without npm the test that needs it is skipped
$(ASYNCAPI_VALIDATOR)/.installed: tests/asyncapi/package.json tests/asyncapi/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		echo "installing the AsyncAPI validator into $(ASYNCAPI_VALIDATOR)" >&2; \
		mkdir -p $(ASYNCAPI_VALIDATOR) && cp tests/asyncapi/package.json tests/asyncapi/package-lock.json $(ASYNCAPI_VALIDATOR)/ \
		&& npm ci --prefix $(ASYNCAPI_VALIDATOR) --ignore-scripts --no-audit --no-fund --loglevel=error >&2 && touch $@; \
	else echo "npm is not installed: the AsyncAPI validation test will be skipped" >&2; fi

asyncapi-validator: $(ASYNCAPI_VALIDATOR)/.installed

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

pytest: install asyncapi-validator
	$(BIN)/pytest

## unit: the tests that need neither PostgreSQL nor RabbitMQ (no service is touched)
unit: install
	$(BIN)/pytest -q -m unit

## test: lint, type-check and the full test suite against the local PostgreSQL and RabbitMQ
test: lint typecheck pytest

## demo: the whole service end to end against the four sandboxes (extra flags: make demo DEMO_ARGS="--json")
demo: install
	@bash scripts/services.sh
	@$(BIN)/nfsync demo $(DEMO_ARGS)

## bench: every `nfsync bench` scenario three times -> BENCHMARKS.md; needs an idle machine and the local PostgreSQL
## and RabbitMQ already up (starts and purges nothing). Smoke run: make bench BENCH_ARGS="--quick --runs 1 --output /tmp/B.md"
bench: install
	$(BIN)/python -m nfsync.workers.lab.bench_report $(BENCH_ARGS)

## chaos: the chaos suite at full size (nfsync chaos; CI runs the reduced form, tests/test_chaos.py)
chaos: install
	bash scripts/services.sh
	$(BIN)/nfsync chaos $(CHAOS_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info $(ASYNCAPI_VALIDATOR)
