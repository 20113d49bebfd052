# The README's commands. Everything is installed into .venv by the first target that needs it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DBT := $(BIN)/dbt
export DBT_PROFILES_DIR := $(CURDIR)

.PHONY: build test test-spark test-all lint clean demo-data

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

## build: install, then `dbt build` the whole project on the demo data into clv.duckdb
build: $(BIN)/.installed
	$(DBT) build --fail-fast

## test: every test on DuckDB and Postgres: dbt build (data + unit tests), sqlfluff lint, python_checks
test: $(BIN)/.installed
	$(BIN)/python -m pytest python_checks -q -p no:cacheprovider -m "not spark"

## test-spark: the cross-engine checks on a local Spark session (slower: a JVM per dbt run)
test-spark: $(BIN)/.installed
	$(BIN)/python -m pytest python_checks -q -p no:cacheprovider -m spark

## test-all: both (what CI runs)
test-all: test test-spark

## lint: sqlfluff on the models and singular tests, ruff on the Python (both also run in make test)
lint: $(BIN)/.installed
	$(BIN)/sqlfluff lint models tests
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## demo-data: regenerate the committed demo seeds (deterministic)
demo-data: $(BIN)/.installed
	$(BIN)/python scripts/generate_demo_data.py --out seeds/raw

clean:
	rm -rf target logs dbt_packages clv.duckdb
