"""Shared fixtures: dbt runs as a subprocess (dbt-duckdb keeps the file lock in-process), each
build into its own temporary DuckDB file, read back through a read-only connection."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest

PROJECT = Path(__file__).resolve().parents[1]
SEEDS = PROJECT / "seeds" / "raw"
DBT = str(Path(sys.executable).parent / "dbt")
MARTS = ["segment_clv", "customer_clv", "value_tiers", "acquisition_cac", "cohort_retention", "gross_margin_by_period",
         "data_quality_quarantine", "data_quality_reconciliation"]


@dataclass
class DbtResult:
    returncode: int
    output: str
    db_path: Path

    def read(self, sql: str) -> pd.DataFrame:
        with duckdb.connect(str(self.db_path), read_only=True) as con:
            return con.execute(sql).df()

    def table(self, name: str) -> pd.DataFrame:
        return self.read(f"select * from main.{name}")


def run_dbt(command: str, workdir: Path, vars: dict | None = None, select: str | None = None, extra: list[str] | None = None,
            env_extra: dict | None = None, cwd: Path | None = None) -> DbtResult:
    """Run `dbt <command>` into workdir/clv.duckdb with its own target and log folders."""
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / "clv.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DBT_")}
    env.update({"DBT_PROFILES_DIR": str(PROJECT), "CLV_DUCKDB_PATH": str(db_path), "CLV_DUCKDB_TEMP_DIR": str(workdir / "tmp")})
    env.update(env_extra or {})
    cmd = [DBT, *command.split(), "--project-dir", str(PROJECT), "--target-path", str(workdir / "target"), "--log-path", str(workdir / "logs")]
    if vars:
        import json
        cmd += ["--vars", json.dumps(vars)]
    if select:
        cmd += ["--select", select]
    cmd += extra or []
    proc = subprocess.run(cmd, cwd=cwd or PROJECT, env=env, capture_output=True, text=True, timeout=3600)
    return DbtResult(proc.returncode, proc.stdout + proc.stderr, db_path)


def build_ok(command: str, workdir: Path, vars: dict | None = None, **kw) -> DbtResult:
    result = run_dbt(command, workdir, vars, **kw)
    assert result.returncode == 0, result.output[-6000:]
    return result


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory) -> DbtResult:
    """`dbt build` (models, seeds, data tests and unit tests) on the demo data, once per session."""
    return build_ok("build", tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="session")
def demo_reference():
    from reference import compute
    return compute(SEEDS)
