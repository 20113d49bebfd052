# The README's commands. Everything is installed into .venv by the first target that needs it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DBT := $(BIN)/dbt
export DBT_PROFILES_DIR := $(CURDIR)

.PHONY: build rollback status metrics metrics-validate report docs test test-spark test-all test-daily-long lint clean demo-data

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

## build: install, then build, audit and publish: `dbt build` of the whole project (every model, data test
## and unit test) into the work database clv.duckdb; only if all of it passed, the marts are published
## atomically to published/clv.duckdb (what consumers read). VARS='{raw_data_dir: ...}' for your data,
## DBT_ARGS=--full-refresh (or other dbt build options).
build: $(BIN)/.installed
	$(BIN)/python -m scripts.publish build $(if $(VARS),--vars '$(VARS)') $(DBT_ARGS)

## rollback: the previous published state back (again: forward)
rollback: $(BIN)/.installed
	$(BIN)/python -m scripts.publish rollback

## status: what is published (the publish log)
status: $(BIN)/.installed
	$(BIN)/python -m scripts.publish status

## metrics: the semantic layer (MetricFlow) on the published data, read-only: it never blocks a build or a
## reader. E.g. make metrics QUERY='--metrics cac,new_customers --group-by acquisition__acquisition_channel'
PUBLISHED := $(or $(CLV_PUBLISHED_DUCKDB_PATH),published/clv.duckdb)
SEMANTIC_MANIFEST := $(basename $(PUBLISHED)).semantic_manifest.json
# mf reads target/semantic_manifest.json: the published state's copy is put there first
define published_semantic_manifest
	@test -f $(SEMANTIC_MANIFEST) || { echo "nothing published yet ($(SEMANTIC_MANIFEST) not found): run make build"; exit 2; }
	@mkdir -p target && cp $(SEMANTIC_MANIFEST) target/semantic_manifest.json
endef

metrics: $(BIN)/.installed
	$(published_semantic_manifest)
	CLV_TARGET=published $(BIN)/mf query $(QUERY)

## metrics-validate: MetricFlow's checks of the semantic layer, against the published data
metrics-validate: $(BIN)/.installed
	$(published_semantic_manifest)
	CLV_TARGET=published $(BIN)/mf validate-configs

## report: the CLV report, one self-contained HTML file from the published data (published/clv_report.html)
report: $(BIN)/.installed
	$(BIN)/python -m scripts.report

## docs: the docs site as one offline page, target/static_index.html (open it from disk)
docs: $(BIN)/.installed
	$(DBT) docs generate --static
	$(BIN)/python -m scripts.docs_site

## test: every test on DuckDB and Postgres: dbt build (data + unit tests), sqlfluff lint, python_checks,
## the report and the docs site in a headless Chromium (installed first if missing: scripts/install_chromium.sh)
test: $(BIN)/.installed
	bash scripts/install_chromium.sh
	$(BIN)/python -m pytest python_checks -q -p no:cacheprovider -m "not spark" -n 2 --dist loadfile --no-loadscope-reorder

## test-spark: the cross-engine checks on a local Spark session (slower: a JVM per dbt run)
test-spark: $(BIN)/.installed
	$(BIN)/python -m pytest python_checks -q -p no:cacheprovider -m spark

## test-all: both (what CI runs)
test-all: test test-spark

## test-daily-long: the daily sequence of python_checks/test_daily.py over two months of the demo data (61 daily
## runs, 2025-11-01 to 2025-12-31, refits every 7th day); outside make test and CI (40 minutes on 2 cores)
test-daily-long: $(BIN)/.installed
	CLV_DAILY_DAYS=61 $(BIN)/python -m pytest python_checks/test_daily.py -q -p no:cacheprovider

## lint: sqlfluff on the models and singular tests, ruff on the Python (both also run in make test)
lint: $(BIN)/.installed
	$(BIN)/sqlfluff lint models tests
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## demo-data: regenerate the committed demo seeds (deterministic)
demo-data: $(BIN)/.installed
	$(BIN)/python scripts/generate_demo_data.py --out seeds/raw

clean:
	rm -rf target logs dbt_packages clv.duckdb clv.duckdb.lock clv.duckdb.state.json published
