"""Package mode: integration_tests/ is a host dbt project that installs this one by local path and reads
its own raw tables (the demo rows under the names shop_<table>, columns in another order, typed by the
seed loader) through the vars raw_schema and raw_identifiers. Its `dbt deps && dbt build` runs as the
README gives it, on DuckDB and on Postgres, and every mart equals the standalone project's build of the
same data (keys exact, numbers to 1e-9 relative)."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from python_checks.compare import assert_matches
from python_checks.project import DBT, KEYS, MARTS, PROJECT, SEEDS

INTEGRATION = PROJECT / "integration_tests"


def run_host(arguments: list[str], workdir: Path, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    """`dbt <command>` in integration_tests/, as its header says to run it (its own profiles.yml), with
    the database, dbt's target and logs in workdir."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "CLV_"))}
    env.update(
        {
            "CLV_IT_DUCKDB_PATH": str(workdir / "host.duckdb"),
            "CLV_DUCKDB_TEMP_DIR": str(workdir / "tmp"),
            "DBT_TARGET_PATH": str(workdir / "target"),
            "DBT_LOG_PATH": str(workdir / "logs"),
        }
    )
    env.update(env_extra or {})
    return subprocess.run([DBT, *arguments], cwd=INTEGRATION, env=env, capture_output=True, text=True, timeout=3600)


def host_build(workdir: Path, env_extra: dict | None = None, extra: tuple[str, ...] | list[str] = ()) -> str:
    """`dbt deps && dbt build` in the host project (extra: arguments of the build)."""
    output = ""
    for arguments in (["deps"], ["build", *extra]):
        proc = run_host(arguments, workdir, env_extra)
        output += proc.stdout + proc.stderr
        assert proc.returncode == 0, output[-6000:]
    return output


def assert_clean(output: str) -> None:
    assert "WARN=0 ERROR=0 SKIP=0" in output and "[WARNING]" not in output, output[-3000:]


IDENTIFIERS = {table: f"shop_{table}" for table in (path.stem for path in sorted(SEEDS.glob("*.csv")))}
# the second build: the same tables read as warehouse tables (raw_schema + raw_identifiers), not as refs
AS_WAREHOUSE_TABLES = [
    "--vars",
    json.dumps({"raw_models": None, "raw_schema": "shop_raw", "raw_identifiers": IDENTIFIERS}),
    "--full-refresh",
]


@pytest.fixture(scope="module")
def host_duckdb(tmp_path_factory):
    """The host project on DuckDB, built twice: as its dbt_project.yml says (the raw tables are its seeds,
    read through raw_models), then with the same tables read as warehouse tables (raw_schema and
    raw_identifiers, the vars given on the command line over the project's). The marts of each build."""
    work = tmp_path_factory.mktemp("host_duckdb")
    outputs, marts = [], []
    for extra in ([], AS_WAREHOUSE_TABLES):
        outputs.append(host_build(work, extra=extra))
        with duckdb.connect(str(work / "host.duckdb"), read_only=True) as con:
            marts.append({mart: con.execute(f"select * from clv.{mart}").df() for mart in KEYS})
    return work, outputs, marts


def test_integration_seeds_hold_the_demo_rows():
    """The host's tables are the demo seeds' rows and columns, renamed and with the columns reversed
    (integration_tests/make_seeds.py wrote them): the comparison with the standalone demo build is of the
    same data."""
    spec = importlib.util.spec_from_file_location("make_seeds", INTEGRATION / "make_seeds.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    demo_tables = sorted(path.name for path in SEEDS.glob("*.csv"))
    host_tables = sorted(path.name.removeprefix("shop_") for path in (INTEGRATION / "seeds").glob("*.csv"))
    assert host_tables == demo_tables
    for name in demo_tables:
        with (SEEDS / name).open(newline="", encoding="utf-8") as f:
            demo = list(csv.reader(f))
        with (INTEGRATION / "seeds" / f"shop_{name}").open(newline="", encoding="utf-8") as f:
            host = list(csv.reader(f))
        assert host == module.host_table(demo), name
        assert host[0] != demo[0] or len(demo[0]) == 1, f"{name}: the host's columns are in another order"


def test_host_build_is_clean_and_loads_no_demo_seed(host_duckdb):
    work, outputs, _ = host_duckdb
    for output in outputs:
        assert_clean(output)
        assert "seed file raw." not in output  # the package's demo seeds
    with duckdb.connect(str(work / "host.duckdb"), read_only=True) as con:
        schemas = {
            row[0] for row in con.execute("select distinct table_schema from information_schema.tables").fetchall()
        }
        raw = {
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables where table_schema = 'shop_raw'"
            ).fetchall()
        }
    # the host's raw tables in its schema, the package's models in the schema the host gave them; nothing else
    assert schemas == {"shop_raw", "clv"}, schemas
    assert raw == {f"shop_{path.stem}" for path in SEEDS.glob("*.csv")}


def _value(text: str) -> str:
    try:
        return repr(float(text))
    except ValueError:
        return text


def quarantine_values(frame):
    """The quarantine as (table, reason, key, copy, raw values) with the raw numbers compared as numbers:
    the host's seed loader typed its tables, so a raw 10.00 reads back as 10.0 (and the quarantine_id, a
    hash of the raw text, differs with it), where the standalone demo seeds are text."""

    def values(raw_row: str) -> str:
        return " | ".join(f"{k}={_value(v)}" for k, _, v in (field.partition("=") for field in raw_row.split(" | ")))

    rows = frame.assign(raw_row=frame["raw_row"].map(values)).drop(columns="quarantine_id")
    return rows.sort_values(list(rows.columns)).reset_index(drop=True)


def assert_mart_equal(actual, expected, mart, label):
    assert list(actual.columns) == list(expected.columns)
    if mart == "data_quality_quarantine":
        pd.testing.assert_frame_equal(quarantine_values(actual), quarantine_values(expected), check_dtype=False)
    else:
        # fit_settings names where the raw data is read from, which is what differs between a host and the standalone
        columns = [c for c in expected.columns if c not in KEYS[mart] and c != "fit_settings"]
        assert_matches(actual, expected, KEYS[mart], columns, label=label)


@pytest.mark.parametrize("mart", list(KEYS))
def test_host_mart_equals_standalone_duckdb(host_duckdb, demo_build, mart):
    _, _, builds = host_duckdb
    expected = demo_build.table(mart)
    for label, marts in zip(("raw_models", "raw_identifiers"), builds, strict=True):
        assert_mart_equal(marts[mart], expected, mart, f"package/duckdb/{label}/{mart}")


def test_host_overrides_a_cross_database_macro(host_duckdb):
    """The host's dispatch config puts its own duckdb__clv_median before the package's: the package's
    model compiles with the host's median() (and the marts above still equal the standalone build)."""
    work, _, _ = host_duckdb
    compiled = next((work / "target" / "compiled" / "clv").rglob("int_customers_scored.sql")).read_text()
    assert "median(" in compiled and "percentile_cont" not in compiled


def test_host_without_raw_data_configured_fails_clearly(tmp_path):
    """A host that installs the package without saying where its raw tables are gets an error naming the
    vars to set, and the package's demo seeds are not loaded into it."""
    proc = run_host(["deps"], tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    proc = run_host(["build", "--vars", "{raw_models: null}"], tmp_path)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "no raw data is configured: set the var raw_schema" in output, output[-3000:]
    database = tmp_path / "host.duckdb"
    if database.exists():  # the run stops in its first hook: nothing is built or loaded
        with duckdb.connect(str(database), read_only=True) as con:
            assert con.execute("select count(*) from information_schema.tables").fetchone()[0] == 0


def test_host_mart_equals_standalone_postgres(postgres_build, tmp_path):
    """The same host project on Postgres (its own database on the cluster of the standalone Postgres build):
    every mart equal to the standalone build's."""
    cluster, _ = postgres_build
    cluster.query("create database host", database="postgres", autocommit=True)
    env = dict(cluster.env(), CLV_IT_PG_DATABASE="host", CLV_PG_SCHEMA="host")
    for label, extra in (("raw_models", []), ("raw_identifiers", AS_WAREHOUSE_TABLES)):
        assert_clean(host_build(tmp_path, env, extra))
        for mart in MARTS:
            expected = cluster.query(f"select * from clv.{mart}")
            actual = cluster.query(f"select * from clv.{mart}", database="host")
            assert_mart_equal(actual, expected, mart, f"package/postgres/{label}/{mart}")
