"""Compare the marts of two DuckDB builds value for value (a refactor must leave them unchanged).

    python -m scripts.compare_builds before.duckdb after.duckdb [--tolerance 1e-12] [--fit-tolerance 1e-5]

Every mart present in either file is compared on its key (python_checks' KEYS): the same keys, the
same columns, text and dates identical, numbers equal to the relative tolerance. The Gamma-Gamma fit
and what it feeds (the predictive marts, the prediction columns) get --fit-tolerance: on a flat
likelihood ridge two builds of the same code differ by up to ~1e-6 in its parameters (the float
summation order of its inputs). Prints one line per mart and exits 1 when any differs. Timestamps
of the run itself are left out.
"""

from __future__ import annotations

import argparse
import sys

import duckdb
import numpy as np
import pandas as pd

from python_checks.project import KEYS, PREDICTIVE, PREDICTIVE_MART_KEYS

RUN_COLUMNS = {"dbt_processed_at", "fitted_at", "built_at"}
FIT_MARTS = set(PREDICTIVE_MART_KEYS)


def mart_tables(path: str) -> dict[str, pd.DataFrame]:
    with duckdb.connect(path, read_only=True) as connection:
        names = connection.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema not like '%raw%' and table_schema not like '%staging%' "
            "and table_name not like 'int\\_%' escape '\\' and table_name not like 'base\\_%' escape '\\' "
            "and table_name not like 'stg\\_%' escape '\\'"
        ).fetchall()
        return {table: connection.execute(f'select * from "{schema}"."{table}"').df() for schema, table in names}


def compare(name: str, before: pd.DataFrame, after: pd.DataFrame, tolerance: float, fit_tolerance: float) -> str | None:
    if set(before.columns) != set(after.columns):
        return f"columns differ: {sorted(set(before.columns) ^ set(after.columns))}"
    columns = [column for column in before.columns if column not in RUN_COLUMNS]
    key = [column for column in KEYS.get(name, columns) if column in columns]
    if len(before) != len(after):
        return f"{len(before)} rows before, {len(after)} after"
    before = before[columns].sort_values(key, ignore_index=True)
    after = after[columns].sort_values(key, ignore_index=True)
    worst = 0.0
    for column in columns:
        left, right = before[column], after[column]
        if pd.api.types.is_numeric_dtype(left) and pd.api.types.is_numeric_dtype(right) and column not in key:
            left, right = left.astype(float).to_numpy(), right.astype(float).to_numpy()
            if not np.array_equal(np.isnan(left), np.isnan(right)):
                return f"{column}: nulls differ"
            both = ~np.isnan(left)
            scale = np.maximum(np.abs(left[both]), 1.0)
            gap = float(np.max(np.abs(left[both] - right[both]) / scale, initial=0.0))
            worst = max(worst, gap)
            fitted = name in FIT_MARTS or column.startswith(PREDICTIVE)
            if gap > (fit_tolerance if fitted else tolerance):
                return f"{column}: relative gap {gap:.3g}"
        elif not left.astype(str).equals(right.astype(str)):
            return f"{column}: values differ"
    return None if worst == 0 else f"equal within {worst:.3g}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--tolerance", type=float, default=1e-12)
    parser.add_argument("--fit-tolerance", type=float, default=1e-5)
    arguments = parser.parse_args()
    before, after = mart_tables(arguments.before), mart_tables(arguments.after)
    failed = False
    for name in sorted(set(before) | set(after)):
        if name not in before or name not in after:
            print(f"{name}: only in {'after' if name in after else 'before'}")
            failed = True
            continue
        outcome = compare(name, before[name], after[name], arguments.tolerance, arguments.fit_tolerance)
        ok = outcome is None or outcome.startswith("equal within")
        failed = failed or not ok
        print(f"{name}: {'identical' if outcome is None else outcome}{'' if ok else '  <-- DIFFERS'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
