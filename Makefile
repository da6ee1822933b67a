# The README's commands. Every target bootstraps its own virtualenv.
VENV   ?= .venv
PYTHON ?= python3
BIN     = $(VENV)/bin

.PHONY: install test lint typecheck pytest demo clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

install: $(BIN)/.installed

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest

## test: lint, type-check and the full test suite against the local PostgreSQL and RabbitMQ
test: lint typecheck pytest

## demo: not available yet - it arrives with the sync issue (#6)
demo:
	@echo "make demo is not available yet: the end-to-end demo arrives with the sync handlers (issue #6)." >&2
	@exit 2

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
