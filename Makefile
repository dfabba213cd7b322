# changeflow: `make demo` runs the sample change on the embedded stack; `make test` runs the tests.
# Both create .venv (pip) when it is missing or pyproject.toml changed.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo demo-tryton up test test-unit test-fast lint format bench-impact bench-lifecycle bench-sync clean chromium

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,tryton,impact,pdf]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/changeflow demo

# the bracket change with MTY's ERP on a real Tryton (started beside the simulator)
demo-tryton: $(STAMP)
	$(BIN)/changeflow demo --erp MTY=tryton

up: $(STAMP)
	$(BIN)/changeflow up

test: $(STAMP) chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

# one layer at a time (tests/README.md): the unit tests start nothing and take seconds; test-fast
# is everything but the whole stack and the browser (workflows, store, connectors, unit)
test-unit: $(STAMP)
	$(BIN)/python -m pytest -q -m unit

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not e2e and not browser"

# the browser test drives Debian's chromium (Playwright with executable_path); it skips, saying
# so, only where chromium cannot be installed
chromium:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "chromium could not be installed: tests/e2e/test_pages.py will skip"

bench-impact: $(STAMP)
	$(BIN)/python -m bench.impact

bench-lifecycle: $(STAMP)
	$(BIN)/python -m bench.lifecycle

bench-sync: $(STAMP)
	$(BIN)/python -m bench.sync

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf .changeflow .pytest_cache .ruff_cache
