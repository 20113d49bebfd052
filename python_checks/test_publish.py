"""Write-audit-publish on DuckDB, as real processes: `make build` (the README's command) builds and tests the
work database and publishes the marts atomically only when everything passed; readers of the published file
never block a build and never see a mix; kill -9 at any point leaves the published file whole."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import pytest

from python_checks.compare import assert_matches
from python_checks.datasets import write_table
from python_checks.engines import PostgresCluster
from python_checks.project import HISTORY_MART_KEYS, MARTS, PREDICTIVE_MART_KEYS, PROJECT

ORDERS = ["order_id", "customer_id", "ordered_at", "order_total"]

READER = textwrap.dedent(
    """
    import sys, duckdb
    path = sys.argv[1]
    query = "select sum(clv_discounted) from segment_clv"
    connection = duckdb.connect(path, read_only=True)
    print(connection.execute(query).fetchone()[0], flush=True)
    for line in sys.stdin:
        if line.strip() == "reopen":
            connection.close()
            connection = duckdb.connect(path, read_only=True)
        print(connection.execute(query).fetchone()[0], flush=True)
    """
)


def environment(folder: Path) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DBT_", "CLV_", "MAKE"))}
    env.update(
        {
            "CLV_DUCKDB_PATH": str(folder / "work" / "clv.duckdb"),
            "CLV_PUBLISHED_DUCKDB_PATH": str(folder / "published" / "clv.duckdb"),
            "CLV_DUCKDB_TEMP_DIR": str(folder / "tmp"),
            "DBT_TARGET_PATH": str(folder / "target"),
            "DBT_LOG_PATH": str(folder / "logs"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    (folder / "work").mkdir(parents=True, exist_ok=True)
    return env


def make(folder: Path, *arguments: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(environment(folder), **(env_extra or {}))
    return subprocess.run(
        ["make", "-s", *arguments], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=1800
    )


def make_ok(folder: Path, *arguments: str) -> str:
    completed = make(folder, *arguments)
    assert completed.returncode == 0, (completed.stdout + completed.stderr)[-6000:]
    return completed.stdout


def published(folder: Path) -> Path:
    return folder / "published" / "clv.duckdb"


def read(path: Path, sql: str):
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def marts_of(path: Path) -> dict:
    """Every published mart's rows (sorted), the publish log apart."""
    with duckdb.connect(str(path), read_only=True) as connection:
        return {name: sorted(map(repr, connection.execute(f"select * from {name}").fetchall())) for name in MARTS}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_reader_never_blocks_a_build_and_sees_old_then_new(tmp_path):
    make_ok(tmp_path, "build")
    first = read(published(tmp_path), "select sum(clv_discounted) from segment_clv")[0][0]
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(published(tmp_path))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert float(reader.stdout.readline()) == first
        # a second build with another discount rate, while the reader holds the published file open;
        # a third one started during it is refused
        env = environment(tmp_path)
        second = subprocess.Popen(
            ["make", "-s", "build", "VARS={discount_rate: 0.2}"],
            cwd=PROJECT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        output = []
        for line in second.stdout:
            output.append(line)
            if "building and testing the work copy" in line:
                break
        concurrent = make(tmp_path, "build")
        output += second.stdout.readlines()
        assert second.wait() == 0, "".join(output)[-6000:]
        assert concurrent.returncode != 0
        assert "another build is running (PID" in concurrent.stdout and "refused" in concurrent.stdout
        # the reader's open connection keeps the old file; reopened, it reads the new one
        reader.stdin.write("again\n")
        reader.stdin.flush()
        assert float(reader.stdout.readline()) == first
        reader.stdin.write("reopen\n")
        reader.stdin.flush()
        second_value = float(reader.stdout.readline())
        assert second_value < first  # a higher discount rate lowers the discounted CLV
    finally:
        reader.kill()
        reader.wait()
    log = read(published(tmp_path), "select vars, tests_passed, row_counts from clv_publish_log order by published_at")
    assert len(log) == 2
    assert log[0][0] == "{}" and '"discount_rate": 0.2' in log[1][0]
    assert all(tests_passed > 300 for _, tests_passed, _ in log)
    assert '"segment_clv": ' in log[1][2]
    # one command rolls back, and again forward
    make_ok(tmp_path, "rollback")
    assert read(published(tmp_path), "select sum(clv_discounted) from segment_clv")[0][0] == first
    make_ok(tmp_path, "rollback")
    assert read(published(tmp_path), "select sum(clv_discounted) from segment_clv")[0][0] == second_value


def test_the_published_file_holds_only_consumer_relations(tmp_path):
    make_ok(tmp_path, "build")
    tables = {row[0] for row in read(published(tmp_path), "select table_name from duckdb_tables()")}
    views = read(published(tmp_path), "select view_name from duckdb_views() where not internal")
    assert tables == {*MARTS, *PREDICTIVE_MART_KEYS, *HISTORY_MART_KEYS, "clv_publish_log", "metricflow_time_spine"}
    assert views == []
    email_columns = read(
        published(tmp_path), "select table_name from duckdb_columns() where column_name ilike '%email%'"
    )
    assert email_columns == []
    # the work database keeps every layer (staging with its personal columns stays there)
    work_tables = {row[0] for row in read(tmp_path / "work" / "clv.duckdb", "select table_name from duckdb_tables()")}
    assert "base_raw__customers" in work_tables and "int_orders_priced" in work_tables
    assert not (tmp_path / "published" / "clv.duckdb.wal").exists()


def test_a_failed_audit_leaves_the_published_file_byte_for_byte(tmp_path):
    make_ok(tmp_path, "build")
    before = digest(published(tmp_path))
    # a delivery where most orders are unreadable: the quarantine-share audit fails
    raw = tmp_path / "raw"
    rows = [["O1", "C1", "2025-01-10", "100.00"]] + [[f"O{n}", "C1", "next tuesday", "10"] for n in range(2, 6)]
    write_table(raw, "orders", ORDERS, rows)
    failed = make(tmp_path, "build", f"VARS={{raw_data_dir: {raw}}}")
    assert failed.returncode != 0
    assert "the audit failed, nothing was published" in failed.stdout
    assert "assert_quarantine_share_within_limit" in failed.stdout
    assert digest(published(tmp_path)) == before
    assert not list((tmp_path / "published").glob(".*"))


KILL_POINTS = {
    "models": ("START sql table model", {}),
    "tests": ("START test", {}),
    "copying": ("fault-injection pause", {"CLV_PUBLISH_STEP_DELAY": "3", "CLV_PUBLISH_PAUSE_AT": "copying"}),
    "before the previous link": (
        "keeping the current published file",
        {"CLV_PUBLISH_STEP_DELAY": "3", "CLV_PUBLISH_PAUSE_AT": "keeping"},
    ),
    "before the rename": (
        "replacing the published file",
        {"CLV_PUBLISH_STEP_DELAY": "3", "CLV_PUBLISH_PAUSE_AT": "replacing"},
    ),
}


def kill_when(folder: Path, marker: str, env_extra: dict, arguments: list[str]) -> str:
    env = dict(environment(folder), **env_extra)
    process = subprocess.Popen(
        ["make", "-s", "build", *arguments],
        cwd=PROJECT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    seen = []
    for line in process.stdout:
        seen.append(line)
        if marker in line:
            os.killpg(process.pid, signal.SIGKILL)
            break
    process.wait()
    time.sleep(0.5)  # the killed group's last processes are reaped
    return "".join(seen)


def test_kill_9_at_any_point_leaves_the_published_database_whole(tmp_path):
    make_ok(tmp_path, "build")
    old = marts_of(published(tmp_path))
    new_vars = ["VARS={discount_rate: 0.2}"]
    outcomes = {}
    for point, (marker, env_extra) in KILL_POINTS.items():
        seen = kill_when(tmp_path, marker, env_extra, new_vars)
        assert marker in seen, f"{point}: the build ended before {marker!r}:\n{seen[-3000:]}"
        # whole and readable: every mart opens, equal to the old state (the new one is checked below)
        state = marts_of(published(tmp_path))
        outcomes[point] = "old" if state == old else state
        assert not (tmp_path / "published" / "clv.duckdb.wal").exists()
    # the next run says the last one did not finish, re-tests everything and publishes
    completed = make(tmp_path, "build", *new_vars)
    assert completed.returncode == 0, completed.stdout[-6000:]
    assert "did not finish" in completed.stdout
    new = marts_of(published(tmp_path))
    assert new != old
    for point, outcome in outcomes.items():
        assert outcome == "old" or outcome == new, f"killed {point}: the published database is a mix"
    assert outcomes["models"] == "old" and outcomes["tests"] == "old" and outcomes["copying"] == "old"
    assert not list((tmp_path / "published").glob(".*.tmp"))


@pytest.mark.parametrize("command", ["rollback"])
def test_rollback_without_a_previous_state_is_refused(tmp_path, command):
    completed = make(tmp_path, command)
    assert completed.returncode != 0
    assert "nothing to roll back to" in completed.stdout


@pytest.fixture(scope="module")
def postgres():
    cluster = PostgresCluster().start()
    try:
        yield cluster
    finally:
        cluster.stop()


def test_postgres_publish_swaps_schemas_under_a_reader_mid_query(postgres, tmp_path):
    """On Postgres `make build` builds and tests the work schema clv_work and swaps a copy of the marts in as
    the published schema clv in one transaction: a query running during the swap finishes on the old
    tables, the next one reads the new; grants carry over; a second build is refused."""
    env_extra = dict(postgres.env())
    env = dict(environment(tmp_path), **env_extra)
    first = subprocess.run(["make", "-s", "build"], cwd=PROJECT, env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stdout[-6000:]
    schemas = postgres.query(
        "select table_schema, table_name from information_schema.tables where table_schema like 'clv%'"
    )
    published_tables = set(schemas[schemas.table_schema == "clv"].table_name)
    # no predictive marts here (nor the predictive branch's clv_model_parameters_history)
    history = {"clv_history", "customer_clv_history"}
    assert published_tables == {*MARTS, *history, "clv_publish_log", "metricflow_time_spine"}
    assert "base_raw__customers" in set(schemas[schemas.table_schema == "clv_work"].table_name)
    personal = "select table_name from information_schema.columns where table_schema = 'clv' and column_name ~ 'mail'"
    assert postgres.query(personal).empty
    postgres.query(
        "create role analyst; grant usage on schema clv to analyst; grant select on clv.segment_clv to analyst",
        autocommit=True,
    )
    old_total = postgres.query("select sum(clv_discounted) as total from clv.segment_clv").total[0]

    second = subprocess.Popen(
        ["make", "-s", "build", "VARS={discount_rate: 0.2}"],
        cwd=PROJECT,
        env=dict(env, CLV_PUBLISH_STEP_DELAY="1", CLV_PUBLISH_PAUSE_AT="copying"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output, reading = [], {}

    def read_slowly():
        started = time.monotonic()
        reading["rows"] = postgres.query(
            "select (select sum(clv_discounted) from clv.segment_clv) as total, pg_sleep(25) as slept"
        )
        reading["finished"] = time.monotonic() - started

    reader = threading.Thread(target=read_slowly)
    for line in second.stdout:
        output.append(line)
        if "building and testing the work copy" in line:
            concurrent = subprocess.run(["make", "-s", "build"], cwd=PROJECT, env=env, capture_output=True, text=True)
        if "copying" in line:
            reader_started = time.monotonic()
            reader.start()
            break
    output += second.stdout.readlines()
    assert second.wait() == 0, "".join(output)[-6000:]
    published_after = time.monotonic() - reader_started
    reader.join()
    assert concurrent.returncode != 0 and "another build is running" in concurrent.stdout
    assert published_after < reading["finished"], "the swap waited for the reader"
    assert float(reading["rows"].total[0]) == float(old_total)
    new_total = postgres.query("select sum(clv_discounted) as total from clv.segment_clv").total[0]
    assert float(new_total) < float(old_total)
    grants = postgres.query(
        "select privilege_type from information_schema.role_table_grants"
        " where grantee = 'analyst' and table_schema = 'clv' and table_name = 'segment_clv'"
    )
    assert list(grants.privilege_type) == ["SELECT"]
    assert postgres.query("select has_schema_privilege('analyst', 'clv', 'USAGE') as usage").usage[0]
    log = postgres.query("select vars, tests_passed from clv.clv_publish_log order by published_at")
    assert len(log) == 2 and '"discount_rate": 0.2' in log.vars[1]

    # the history stays on the published side: with the work schema lost, a run of another as-of adds its rows
    # beside the last run's (which had replaced the first run's rows of the same as-of)
    published_segments = postgres.query("select segment_dimension, segment_value, clv_discounted from clv.segment_clv")
    postgres.query("drop schema clv_work cascade", autocommit=True)
    third = subprocess.run(
        ["make", "-s", "build", "VARS={as_of_date: 2025-11-30}"], cwd=PROJECT, env=env, capture_output=True, text=True
    )
    assert third.returncode == 0, third.stdout[-6000:]
    assert "clv_history: 16 earlier rows kept from the published state" in third.stdout, third.stdout[-3000:]
    history = postgres.query("select * from clv.clv_history")
    runs = postgres.query("select run_id, as_of_date from clv.clv_publish_log order by published_at")
    assert sorted(set(history.as_of_date.astype(str))) == ["2025-11-30", "2025-12-31"]
    assert dict(zip(runs.as_of_date.astype(str), runs.run_id, strict=False)) == dict(
        zip(history.as_of_date.astype(str), history.run_id, strict=True)
    )
    last_year = history[history.as_of_date.astype(str) == "2025-12-31"]
    assert_matches(last_year, published_segments, ["segment_dimension", "segment_value"], ["clv_discounted"], rtol=0)
