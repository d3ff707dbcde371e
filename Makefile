# Meridian: `make run` starts it on embedded defaults, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
PORT ?= 5000
STAMP := $(VENV)/.installed
VENDOR := static/vendor/leaflet/leaflet.js

.PHONY: run test lint typecheck pytest pytest-postgres engine system-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Leaflet (copied into static/vendor/ by package.json's postinstall) and axe-core (browser tests), from npm.
# Without npm the site still works: maps stay off, and the browser tests skip (fail in CI).
$(VENDOR): package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund && touch $@; \
	else echo "npm not found: maps are off and browser tests skip (apt-get install npm)"; fi

## Start Meridian on http://127.0.0.1:$(PORT) (SQLite + embedded search, demo data on first run).
run: $(STAMP) $(VENDOR)
	$(FLASK) bootstrap
	PORT=$(PORT) $(FLASK) serve

## Run lint, type checks and the whole test suite (SQLite, then PostgreSQL).
test: $(STAMP) system-deps lint typecheck pytest pytest-postgres

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) $(VENDOR)
	$(BIN)/pytest

# The database-facing tests again on PostgreSQL (same migrations).
pytest-postgres: $(STAMP)
	MERIDIAN_TEST_DATABASE=postgresql $(BIN)/pytest tests/unit tests/functional

## Start Elasticsearch (9200) and OpenSearch (9201) from Maven Central for development.
engine: $(STAMP)
	$(BIN)/python -m engine start all

# Debian packages the suite needs (PostgreSQL, Chromium); installed only when missing.
system-deps:
	@bash tests/support/system-deps.sh

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache node_modules static/vendor
