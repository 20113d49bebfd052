"""Build, audit, publish: consumers read only what a whole `dbt build` (every model, data test and unit
test) produced and passed, and a build never waits on them.

    python -m scripts.publish build [dbt build options, e.g. --vars '{raw_data_dir: ...}' --full-refresh]
    python -m scripts.publish rollback     # the previous published state back (twice: forward again)
    python -m scripts.publish status       # what is published, and the last runs

DuckDB (CLV_TARGET unset or duckdb): `dbt build` writes the work database, CLV_DUCKDB_PATH (default
clv.duckdb), which keeps every layer and persists between runs (incremental runs continue from it).
When the build passed, the consumer relations (the marts and the publish log; no staging or
intermediate relation, so no personal column) are copied into a new file next to the published one,
CLV_PUBLISHED_DUCKDB_PATH (default published/clv.duckdb), which is then replaced atomically
(os.replace after fsync; the directory is fsynced after). A reader that has the old file open keeps
its consistent old view, a new reader sees the whole new one, and the build never needs a lock on
the published file. The file it replaced stays as clv.previous.duckdb for `rollback`.

Postgres (CLV_TARGET=postgres): `dbt build` writes the work schema <CLV_PG_SCHEMA>_work; publishing
copies the consumer relations into a new schema and swaps it with the published schema
(CLV_PG_SCHEMA, default clv) in one transaction, carrying its grants over; the schema it replaced
stays as <schema>__previous for `rollback`.

A failed build (a model error or any failing test) publishes nothing and names what failed. A run
that did not finish (killed) leaves its rows in the work database only: the next run rebuilds and
re-tests every table before anything is published, and says so. A second build while one runs is
refused. See docs/decisions.md, "Publishing".
"""

from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DBT = str(Path(sys.executable).parent / "dbt")
PUBLISH_LOG = "clv_publish_log"
# in the work database: per incremental table, the newest dbt_processed_at whose rows passed the tests of a
# published run; the row-level tests of the next runs read only newer rows (macros/tests/changed_rows.sql)
TESTED_THROUGH = "clv_tested_through"
# fault-injection tests pause (seconds) before the publish steps, or only before the steps whose
# description contains CLV_PUBLISH_PAUSE_AT, to kill the process mid-publish
STEP_DELAY = float(os.environ.get("CLV_PUBLISH_STEP_DELAY", "0"))
PAUSE_AT = os.environ.get("CLV_PUBLISH_PAUSE_AT", "")


def say(message: str) -> None:
    print(f"publish: {message}", flush=True)


class Refused(Exception):
    """The run cannot go on; the message says why (exit status 2)."""


# ------------------------------------------------------------------------------------------------
# the run: lock, state, dbt build, audit


class Run:
    """One build-audit-publish run against a work location (a DuckDB file or a Postgres schema)."""

    def __init__(self, work_name: str, state_dir: Path):
        self.state_dir = state_dir
        self.lock_path = state_dir / f"{work_name}.lock"
        self.state_path = state_dir / f"{work_name}.state.json"
        self.started_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        self.target_path = Path(os.environ.get("DBT_TARGET_PATH", ROOT / "target"))

    @contextmanager
    def locked(self):
        self.state_dir.mkdir(parents=True, exist_ok=True)
        handle = open(self.lock_path, "a+")  # noqa: SIM115 (held for the whole run)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise Refused(
                f"another build is running ({holder}; lock {self.lock_path}): refused. "
                "Wait for it to finish; nothing was built or published by this command."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"PID {os.getpid()}, started {self.started_at:%Y-%m-%d %H:%M:%S} UTC")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()

    def previous_state(self) -> dict:
        try:
            return json.loads(self.state_path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def write_state(self, **state) -> None:
        state = {"started_at": f"{self.started_at:%Y-%m-%d %H:%M:%S}", **state}
        self.state_dir.mkdir(parents=True, exist_ok=True)
        temporary = self.state_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=2))
        os.replace(temporary, self.state_path)

    def dbt_build(self, dbt_args: list[str], env: dict) -> dict:
        """`dbt build` with the user's options; returns run_results.json. The output streams through."""
        command = [DBT, "build", *dbt_args]
        say("building and testing the work copy: " + " ".join(["dbt", "build", *dbt_args]))
        completed = subprocess.run(command, cwd=ROOT, env=env)
        results_path = self.target_path / "run_results.json"
        results = json.loads(results_path.read_text()) if results_path.exists() else {"results": []}
        # a stale run_results.json from an earlier invocation must not pass for this one
        if results.get("metadata", {}).get("generated_at", "") < f"{self.started_at:%Y-%m-%dT%H:%M:%S}":
            results = {"results": []}
        results["returncode"] = completed.returncode
        return results


def audit(results: dict) -> tuple[bool, list[str], int]:
    """(passed, what failed, tests passed) from dbt's run results."""
    failed = [
        f"{item['unique_id']} ({item['status']})"
        for item in results["results"]
        if item["status"] in ("error", "fail", "runtime error", "skipped")
    ]
    tests_passed = sum(
        1
        for item in results["results"]
        if item["unique_id"].split(".")[0] in ("test", "unit_test") and item["status"] == "pass"
    )
    passed = results["returncode"] == 0 and not failed and bool(results["results"])
    return passed, failed, tests_passed


def consumer_relations(manifest: dict) -> list[str]:
    """The models consumers may read: every enabled model under models/marts (the publish log included)."""
    names = [
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["fqn"][1] == "marts"
        and node["config"].get("enabled", True)
        and node["config"]["materialized"] in ("table", "incremental")
    ]
    return sorted(names)


def history_keys(manifest: dict) -> dict[str, str]:
    """The history marts (meta history_key): the publish step keeps the earlier published rows of every other
    value of the key beside the new ones (docs/decisions.md, "History")."""
    return {
        node["name"]: node["config"]["meta"]["history_key"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"].get("meta", {}).get("history_key")
    }


def incremental_tables(manifest: dict) -> list[str]:
    """The project's incremental tables (each row carries dbt_processed_at, the run that wrote it)."""
    return sorted(
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["config"].get("enabled", True)
        and node["config"]["materialized"] == "incremental"
        and "dbt_processed_at" in node["columns"]
    )


def tested_through_statements(schema: str, tables: list[str], run_id: str) -> list[str]:
    """SQL (DuckDB and Postgres alike) that records, in the work schema, the newest dbt_processed_at of each
    incremental table after a run passed and was published: every row up to it was tested by a published run."""
    selects = " union all ".join(
        f"select '{name}' as table_name, max(dbt_processed_at) as tested_through, '{run_id}' as run_id "
        f'from {schema}."{name}"'
        for name in tables
    )
    return [f"drop table if exists {schema}.{TESTED_THROUGH}", f"create table {schema}.{TESTED_THROUGH} as {selects}"]


def project_version() -> str:
    return str(yaml.safe_load((ROOT / "dbt_project.yml").read_text())["version"])


def log_row(run: Run, results: dict, tests_passed: int, parameters: dict, row_counts: dict) -> dict:
    metadata = results.get("metadata", {})
    return {
        "run_id": metadata.get("invocation_id"),
        "as_of_date": parameters.get("as_of_date"),
        "started_at": run.started_at,
        "published_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
        "dbt_version": metadata.get("dbt_version"),
        "project_version": project_version(),
        "vars": json.dumps(results.get("args", {}).get("vars", {}), sort_keys=True, default=str),
        "parameters": json.dumps(parameters, sort_keys=True, default=str),
        "row_counts": json.dumps(row_counts, sort_keys=True),
        "tests_passed": tests_passed,
    }


def pause(step: str) -> None:
    if STEP_DELAY and PAUSE_AT in step:
        say(f"(fault-injection pause {STEP_DELAY:g} s before: {step})")
        time.sleep(STEP_DELAY)


# ------------------------------------------------------------------------------------------------
# DuckDB: a new file, renamed over the published one


def fsync_path(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def keep_as_previous(current: Path, previous: Path) -> None:
    """previous becomes a second name of current's file (a hard link renamed into place: atomic, and a
    reader of either keeps its inode)."""
    link = previous.with_name(f".{previous.name}.tmp-link")
    link.unlink(missing_ok=True)  # left by a run that did not finish
    os.link(current, link)
    os.replace(link, previous)


def swap_files(first: Path, second: Path) -> None:
    """Exchange two files' names, each rename atomic (rollback and roll-forward)."""
    link = first.with_name(f".{first.name}.swap.tmp-link")
    link.unlink(missing_ok=True)  # left by a swap that did not finish
    os.link(first, link)
    os.replace(second, first)
    os.replace(link, second)


class DuckDBPublisher:
    def __init__(self):
        self.work = Path(os.environ.get("CLV_DUCKDB_PATH", "clv.duckdb"))
        self.published = Path(os.environ.get("CLV_PUBLISHED_DUCKDB_PATH", "published/clv.duckdb"))
        self.work = self.work if self.work.is_absolute() else ROOT / self.work
        self.published = self.published if self.published.is_absolute() else ROOT / self.published
        self.previous = self.published.with_name(self.published.stem + ".previous" + self.published.suffix)
        # the semantic layer's definitions of the published marts, which `make metrics` queries with
        self.semantic_manifest = self.published.with_name(self.published.stem + ".semantic_manifest.json")
        self.previous_semantic_manifest = self.published.with_name(
            self.published.stem + ".previous.semantic_manifest.json"
        )
        self.run = Run(self.work.name, self.work.parent)

    def describe(self) -> str:
        return f"work database {self.work}, published database {self.published}"

    def before_build(self) -> None:
        if not self.work.exists():
            say(f"work database {self.work} not found: this run is a full build")

    def publish(self, results: dict, tests_passed: int, relations: list[str], history: dict[str, str]) -> dict:
        import duckdb

        self.published.parent.mkdir(parents=True, exist_ok=True)
        for leftover in self.published.parent.glob(f".{self.published.stem}.*.tmp*"):
            say(f"removing {leftover.name}, left by a publish that did not finish")
            leftover.unlink()
        run_id = results["metadata"]["invocation_id"]
        temporary = self.published.with_name(f".{self.published.name}.{run_id}.tmp")
        say(f"copying {len(relations)} relations into {temporary.name}")
        with duckdb.connect(str(temporary)) as connection:
            connection.execute(f"attach '{self.work}' as work (read_only)")
            if self.published.exists():
                connection.execute(f"attach '{self.published}' as published (read_only)")
            published_tables = {
                row[0]
                for row in connection.execute(
                    "select table_name from duckdb_tables() where database_name = 'published' and schema_name = 'main'"
                ).fetchall()
            }
            cursor = connection.execute("select * from work.main.int_parameters")
            parameters = dict(zip([column[0] for column in cursor.description], cursor.fetchone(), strict=True))
            row_counts = {}
            for name in relations:
                ddl = connection.execute(
                    "select sql from duckdb_tables() where database_name = 'work' and schema_name = 'main' "
                    "and table_name = ?",
                    [name],
                ).fetchone()
                if ddl is None:
                    raise Refused(f"the build passed but the work database has no table {name}: nothing published")
                connection.execute(ddl[0])
                if name != PUBLISH_LOG:
                    connection.execute(f'insert into main."{name}" select * from work.main."{name}"')
                    if name in history and name in published_tables:
                        carried = self.carry_history(connection, name, history[name])
                        say(f"{name}: {carried} earlier rows kept from the published state")
                    row_counts[name] = connection.execute(f'select count(*) from main."{name}"').fetchone()[0]
                pause(f"copying the relation after {name}")
            connection.execute("detach work")
            if PUBLISH_LOG in published_tables:
                connection.execute(f"insert into main.{PUBLISH_LOG} by name select * from published.main.{PUBLISH_LOG}")
            if self.published.exists():
                connection.execute("detach published")
            row = log_row(self.run, results, tests_passed, parameters, row_counts)
            columns = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            connection.execute(f"insert into main.{PUBLISH_LOG} ({columns}) values ({marks})", list(row.values()))
            connection.execute("checkpoint")
        wal = temporary.with_name(temporary.name + ".wal")
        if wal.exists():
            raise Refused(f"{temporary} was not closed cleanly ({wal.name} exists): nothing published")
        fsync_path(temporary)
        pause("keeping the current published file as the previous one")
        if self.published.exists():
            keep_as_previous(self.published, self.previous)
        stale_wal = self.published.with_name(self.published.name + ".wal")
        if stale_wal.exists():
            say(f"removing {stale_wal.name}: left by a writer that did not close the published file")
            stale_wal.unlink()
        pause("replacing the published file")
        os.replace(temporary, self.published)
        self.publish_semantic_manifest(run_id)
        fsync_path(self.published.parent)
        return row

    def mark_tested(self, tables: list[str], run_id: str) -> None:
        """After the publish: the newest tested row of each incremental table, in the work database."""
        import duckdb

        if not tables:
            return
        with duckdb.connect(str(self.work)) as connection:
            for statement in tested_through_statements("main", tables, run_id):
                connection.execute(statement)

    @staticmethod
    def carry_history(connection, name: str, key: str) -> int:
        """The published rows of a history mart whose key (the as-of) this run did not write, into the new copy:
        the columns both have (a column added since reads null in the earlier rows)."""
        columns = [
            row[0]
            for row in connection.execute(
                "select earlier.column_name from duckdb_columns() as earlier join duckdb_columns() as new "
                "on new.database_name = current_database() and new.schema_name = 'main' "
                "and new.table_name = earlier.table_name and new.column_name = earlier.column_name "
                "where earlier.database_name = 'published' and earlier.schema_name = 'main' and earlier.table_name = ? "
                "order by earlier.column_index",
                [name],
            ).fetchall()
        ]
        listed = ", ".join(f'"{column}"' for column in columns)
        before = connection.execute(f'select count(*) from main."{name}"').fetchone()[0]
        connection.execute(
            f'insert into main."{name}" ({listed}) select {listed} from published.main."{name}" '
            f'where "{key}" not in (select "{key}" from main."{name}")'
        )
        return connection.execute(f'select count(*) from main."{name}"').fetchone()[0] - before

    def publish_semantic_manifest(self, run_id: str) -> None:
        """The run's semantic_manifest.json beside the published file (the previous one kept beside it)."""
        built = self.run.target_path / "semantic_manifest.json"
        if not built.exists():
            return
        temporary = self.semantic_manifest.with_name(f".{self.semantic_manifest.name}.{run_id}.tmp")
        temporary.write_bytes(built.read_bytes())
        fsync_path(temporary)
        if self.semantic_manifest.exists():
            keep_as_previous(self.semantic_manifest, self.previous_semantic_manifest)
        os.replace(temporary, self.semantic_manifest)

    def show_failures(self, results: dict) -> None:
        """The first rows each failing data test returned, read back from the work database (personal
        columns left out), so that the message says what was wrong, not only which test."""
        import duckdb

        failing = [item for item in results["results"] if item["status"] == "fail" and item.get("compiled_code")]
        if not failing or not self.work.exists():
            return
        with duckdb.connect(str(self.work), read_only=True) as connection:
            for item in failing[:5]:
                cursor = connection.execute(f"select * from ({item['compiled_code']}) as failing limit 5")
                names = [column[0] for column in cursor.description]
                for values in cursor.fetchall():
                    shown = ", ".join(
                        f"{name}={value}" for name, value in zip(names, values, strict=True) if "email" not in name
                    )
                    say(f"  {item['unique_id'].split('.')[-1]}: {shown}")

    def rollback(self) -> None:
        if not self.previous.exists():
            raise Refused(f"no previous published database ({self.previous}): nothing to roll back to")
        swap_files(self.published, self.previous)
        if self.previous_semantic_manifest.exists() and self.semantic_manifest.exists():
            swap_files(self.semantic_manifest, self.previous_semantic_manifest)
        fsync_path(self.published.parent)
        say(f"{self.published} is the previous published state again; the one it replaced is {self.previous.name}")

    def published_log(self):
        import duckdb

        if not self.published.exists():
            return None
        with duckdb.connect(str(self.published), read_only=True) as connection:
            return connection.execute(f"select * from main.{PUBLISH_LOG} order by published_at desc").df()


# ------------------------------------------------------------------------------------------------
# the commands


def publisher():
    target = os.environ.get("CLV_TARGET", "duckdb")
    if target == "duckdb":
        return DuckDBPublisher()
    if target == "postgres":
        from scripts.publish_postgres import PostgresPublisher

        return PostgresPublisher()
    raise Refused(f"publishing is implemented for duckdb and postgres, not CLV_TARGET={target} (see README)")


def build(dbt_args: list[str]) -> int:
    engine = publisher()
    run = engine.run
    with run.locked():
        previous = run.previous_state()
        if previous.get("state") in ("building", "publishing"):
            say(
                f"the previous run (started {previous['started_at']} UTC) did not finish: its rows are in the work "
                "copy only and were never published; this run rebuilds and re-tests every table before publishing"
            )
        engine.before_build()
        run.write_state(state="building")
        env = dict(os.environ, **getattr(engine, "dbt_env", {}))
        results = run.dbt_build(dbt_args, env)
        passed, failed, tests_passed = audit(results)
        if not passed:
            run.write_state(state="failed", failed=failed)
            shown = "\n  ".join(failed[:20]) + (f"\n  ... and {len(failed) - 20} more" if len(failed) > 20 else "")
            say(
                "the audit failed, nothing was published (consumers keep the last published state). "
                + (f"Failed or skipped:\n  {shown}" if failed else f"dbt exited with status {results['returncode']}.")
            )
            engine.show_failures(results)
            if any("assert_raw_rows_reconcile" in item for item in failed):
                say(
                    "raw rows are missing from the work tables: late data (rows dated before an incremental run's "
                    "lookback, see 'CLV late data' above) is read by a full rebuild: make build DBT_ARGS=--full-refresh"
                )
            return 1
        manifest = json.loads((run.target_path / "manifest.json").read_text())
        relations = consumer_relations(manifest)
        run.write_state(state="publishing")
        row = engine.publish(results, tests_passed, relations, history_keys(manifest))
        run.write_state(state="published", run_id=row["run_id"])
        # a crash before this line leaves the previous marks: the next run tests more rows, never fewer
        engine.mark_tested(incremental_tables(manifest), row["run_id"])
        say(
            f"published run {row['run_id']} (as of {row['as_of_date']}, {tests_passed} tests passed, "
            f"{len(relations)} relations) to {engine.describe().split(', ')[-1]}"
        )
        return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["build", "rollback", "status"])
    arguments, dbt_args = parser.parse_known_args(argv)
    try:
        if arguments.command == "build":
            return build(dbt_args)
        engine = publisher()
        if arguments.command == "rollback":
            with engine.run.locked():
                engine.rollback()
            return 0
        log = engine.published_log()
        print(engine.describe())
        print("nothing published yet" if log is None else log.head(10).to_string(index=False))
        return 0
    except Refused as refusal:
        say(str(refusal))
        return 2


if __name__ == "__main__":
    # run the package module's main, so that scripts.publish_postgres and this run share one module (and
    # one Refused class) rather than a second copy named __main__
    from scripts import publish

    sys.exit(publish.main())
