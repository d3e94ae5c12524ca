# Set-up is part of every target: a fresh clone needs only Python 3.11 and make.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
# uv installs the locked environment with every extra (spark: `engine: spark` and its test need it);
# when uv is missing it is installed with pip.
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")

# Nothing may call the network at run time: telemetry off for dbt, Dagster (dagster.yaml) and GX.
export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DBT_VERSION_CHECK := false
export GX_ANALYTICS_ENABLED := false
export UV_PYTHON_DOWNLOADS := never

.PHONY: help setup browser java run test lint format bench clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

# Bytecode is compiled at install time (--compile-bytecode, then the project's own modules): every
# run starts several Python processes (loyalty, three dbt builds), and where PYTHONDONTWRITEBYTECODE
# is set, as on our CI machines, each of them otherwise compiled dagster, dbt and pandas from source
# again (imports 9.0 s instead of 4.8 s).
$(BIN)/loyalty: pyproject.toml uv.lock
	@command -v uv >/dev/null 2>&1 || python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet uv
	$(UV) sync --frozen --all-extras --compile-bytecode --python python3.11
	$(BIN)/python -m compileall -q dagster_project
	@touch $@

setup: $(BIN)/loyalty  ## create .venv from uv.lock

# The browser tests drive Debian's chromium (a test tool's own browser download cannot work offline).
browser:  ## install Debian's chromium for the report and UI browser tests (needs root)
	@command -v chromium >/dev/null 2>&1 || { \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core; }

# The warehouse on Spark (the spark extra) runs pyspark in local mode, which needs a Java runtime.
java:  ## install Debian's Java 17 runtime for warehouse.engine: spark and its test (needs root)
	@command -v java >/dev/null 2>&1 || { \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless; }

run: setup  ## generate the demo data and run the whole pipeline on it
	$(BIN)/loyalty demo

# Two workers (pytest-xdist), one test file each at a time: most of the suite waits on pipeline
# runs in subprocesses, and a file's module fixtures (a project run once) stay in one worker. Files
# go to the workers in collection order, the longest modules first (tests/conftest.py).
TEST_WORKERS ?= 2
test: setup  ## the whole test suite (TEST_WORKERS=2 by default)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

# SQL lint: sqlfluff with the dbt templater compiles each model as a run would (an as-of day and a
# scratch warehouse file, nothing else is touched); a model it cannot compile fails the lint.
lint: setup  ## ruff lint and format check, sqlfluff on the dbt models
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	@scratch=$$(mktemp -d); \
	out=$$(cd dbt && LOYALTY_WAREHOUSE_PATH=$$scratch/lint.duckdb LOYALTY_AS_OF_DATE=2025-01-01 \
		../$(BIN)/sqlfluff lint models --processes 2 2>&1); status=$$?; rm -rf $$scratch; \
	echo "$$out" | grep -v "^=== \[dbt templater\]"; \
	if echo "$$out" | grep -q "Skipped file"; then echo "sqlfluff could not compile a model"; exit 1; fi; \
	exit $$status

format: setup  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Sizes as arguments: make bench CUSTOMERS=1000000 DAYS=731 (MEMORY_LIMIT=6GB caps DuckDB)
CUSTOMERS ?= 2000
DAYS ?= 120
MEMORY_LIMIT ?=
bench: setup  ## time each stage and race the usual tools (bench/results/, BENCHMARKS.md)
	$(BIN)/python -m dagster_project.bench --customers $(CUSTOMERS) --days $(DAYS) \
		$(if $(MEMORY_LIMIT),--memory-limit $(MEMORY_LIMIT))

clean:  ## remove generated data, the warehouse and dbt artefacts (keeps .venv)
	rm -rf data .dagster dbt/target dbt/logs
