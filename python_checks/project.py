"""What the checks share: the project's paths, the marts and their keys, running dbt, loading a dbt
Python model's code as a module."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import duckdb
import pandas as pd

PROJECT = Path(__file__).resolve().parents[1]
SEEDS = PROJECT / "seeds" / "raw"
DBT = str(Path(sys.executable).parent / "dbt")

# the metric marts, each with its key: compared column by column with the pandas reference
MART_KEYS = {
    "segment_clv": ["segment_dimension", "segment_value"],
    "customer_clv": ["customer_id"],
    "value_tiers": ["value_tier"],
    "acquisition_cac": ["acquisition_channel", "month_start"],
    "cohort_retention": ["cohort_month", "months_since_first_purchase"],
    "gross_margin_by_period": ["period_start"],
}
# every mart the heuristic line publishes, and the keys of the others
MARTS = [*MART_KEYS, "data_quality_quarantine", "data_quality_reconciliation"]
# the marts of the predictive branch (model fits: compared at a fit's tolerance), with their keys
PREDICTIVE_MART_KEYS = {
    "clv_model_parameters": ["fit", "model", "parameter"],
    "clv_model_covariance": ["fit", "model", "parameter", "other_parameter"],
    "clv_backtest": ["model", "metric"],
    "clv_calibration_holdout": ["model", "calibration_frequency"],
    "clv_frequency_recency": ["model", "frequency", "recency_step"],
    "clv_period_transactions": ["model", "period_number"],
}
# the history marts: the publish step keeps every published as-of of them (scripts/publish.py, history_key)
HISTORY_MART_KEYS = {
    "clv_history": ["as_of_date", "segment_dimension", "segment_value"],
    "customer_clv_history": ["as_of_date", "customer_id"],
    "clv_model_parameters_history": ["as_of_date", "fit", "model", "parameter"],
}
KEYS = dict(
    MART_KEYS,
    data_quality_quarantine=["quarantine_id"],
    data_quality_reconciliation=["source_table"],
    **PREDICTIVE_MART_KEYS,
)
# columns of the BG/NBD + Gamma-Gamma predictions, checked against lifetimes in test_predictive.py
PREDICTIVE = ("p_alive", "expected_purchases", "expected_spend", "predicted_")


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


def run_dbt(
    command: str,
    workdir: Path,
    vars: dict | None = None,
    select: str | None = None,
    extra: list[str] | None = None,
    env_extra: dict | None = None,
    cwd: Path | None = None,
) -> DbtResult:
    """Run `dbt <command>` (e.g. "build", "docs generate") as a subprocess (dbt-duckdb keeps the file lock
    in-process) into workdir/clv.duckdb, with its own target and log folders."""
    workdir.mkdir(parents=True, exist_ok=True)
    db_path = workdir / "clv.duckdb"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DBT_")}
    env.update(
        {"DBT_PROFILES_DIR": str(PROJECT), "CLV_DUCKDB_PATH": str(db_path), "CLV_DUCKDB_TEMP_DIR": str(workdir / "tmp")}
    )
    env.update(env_extra or {})
    cmd = [DBT, *command.split(), "--project-dir", str(PROJECT), "--target-path", str(workdir / "target")]
    cmd += ["--log-path", str(workdir / "logs")]
    if vars:
        cmd += ["--vars", json.dumps(vars)]
    if select:
        cmd += ["--select", select]
    cmd += extra or []
    proc = subprocess.run(cmd, cwd=cwd or PROJECT, env=env, capture_output=True, text=True, timeout=3600)
    return DbtResult(proc.returncode, proc.stdout + proc.stderr, db_path)


def make_env(workdir: Path) -> dict:
    """The environment of a user's `make` commands in workdir: the work database workdir/clv.duckdb, the
    published one workdir/published/clv.duckdb, dbt's target and logs in workdir."""
    workdir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "CLV_", "MAKE"))}
    env.update(
        {
            "CLV_DUCKDB_PATH": str(workdir / "clv.duckdb"),
            "CLV_PUBLISHED_DUCKDB_PATH": str(workdir / "published" / "clv.duckdb"),
            "CLV_DUCKDB_TEMP_DIR": str(workdir / "tmp"),
            "DBT_TARGET_PATH": str(workdir / "target"),
            "DBT_LOG_PATH": str(workdir / "logs"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def dbt_ls(selector: str, workdir: Path, resource_types: tuple[str, ...] = ("model", "metric")) -> list[str]:
    """`dbt ls --select <selector>` (e.g. "+exposure:clv_metrics"): the nodes a change would touch."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DBT_", "CLV_"))}
    env.update({"DBT_PROFILES_DIR": str(PROJECT), "CLV_DUCKDB_PATH": str(workdir / "clv.duckdb")})
    command = [DBT, "ls", "--select", *selector.split(), "-q", "--resource-type", *resource_types]
    command += ["--target-path", str(workdir / "target"), "--log-path", str(workdir / "logs")]
    return subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, check=True).stdout.split()


def make_build(workdir: Path, vars: dict | None = None, dbt_args: str | None = None) -> DbtResult:
    """The README's command for a user's data, exactly: `make build VARS='{...}'` (build, audit, publish;
    DBT_ARGS=--full-refresh) in workdir (make_env); the result reads the published database, what consumers see."""
    command = ["make", "-s", "build"] + ([f"VARS={json.dumps(vars)}"] if vars else [])
    command += [f"DBT_ARGS={dbt_args}"] if dbt_args else []
    proc = subprocess.run(command, cwd=PROJECT, env=make_env(workdir), capture_output=True, text=True, timeout=3600)
    return DbtResult(proc.returncode, proc.stdout + proc.stderr, workdir / "published" / "clv.duckdb")


def build_ok(command: str, workdir: Path, vars: dict | None = None, **kw) -> DbtResult:
    result = run_dbt(command, workdir, vars, **kw)
    assert result.returncode == 0, result.output[-6000:]
    return result


def published_columns(result: DbtResult, mart: str) -> list[str]:
    """The mart's columns but the predictions, which test_predictive.py checks against lifetimes."""
    return [c for c in result.read(f"select * from {mart} limit 0").columns if not c.startswith(PREDICTIVE)]


def load_model_module(relative_path: str) -> ModuleType:
    """A dbt Python model's file (e.g. models/intermediate/predictive/int_clv_models_fitted.py) as a module,
    so that its functions can be tested and benchmarked as they are."""
    path = PROJECT / relative_path
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
