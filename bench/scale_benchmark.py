"""Scale benchmark: the project against the engine's floor and against pandas, side by side in one run.

    .venv/bin/python -m bench.scale_benchmark --orders 1000000 10000000 [--readme]     (from the project root)

For each size, on the same raw Parquet folders (scripts/generate_scale_data.py; generated once into
--work and reused), it times, each step in its own process:
- full build: `dbt build` of the whole project (every model, data test and unit test; no seeds: the
  raw data is read from the folder) into a new DuckDB file;
- segment_clv path: `dbt run --select +segment_clv` with enable_predictive=false into a new file:
  the models behind segment_clv, like for like with the hand-written query;
- hand-written query: bench/segment_clv_handwritten.sql, one DuckDB query from the raw files to
  segment_clv with the project's quarantine rules; its result is compared with the dbt mart (rtol 1e-9);
- clean floor: bench/segment_clv_clean_floor.sql, the `all` and `acquisition_channel` rows as an analyst
  would compute them on trusted data (typed reads, no quarantine): the engine's floor; its largest
  relative difference from the mart is reported;
- pandas reference: python_checks/reference.py on the raw files (all marts; stopped when its resident
  memory passes --reference-memory-gib, so that it fails instead of taking the machine down);
- incremental: the next-day delivery (0.1% new orders) copied into the folders, then `dbt build`
  again on the full build's file.
It reports wall seconds, peak resident memory of the process tree (dbt runs DuckDB and the dbt
Python models in-process), ratios, and the growth from the smallest to the largest size. With
--readme the table replaces the one between the scale-benchmark markers in README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
DBT = str(Path(PY).parent / "dbt")


def measure(cmd: list[str], env: dict | None = None, memory_cap_bytes: int = 0, timeout_s: float = 0) -> dict:
    """Run cmd in a fresh process; wall seconds and the peak RSS of its process tree."""
    measure_process = str(ROOT / "bench" / "measure_process.py")
    proc = subprocess.run(
        [PY, measure_process, str(memory_cap_bytes), str(timeout_s), *cmd],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["peak_gib"] = result["peak_kb"] / 1024 / 1024
    return result


REFERENCE_MEMORY_GIB = 16.0  # the default stop of the pandas reference
# the dbt builds' DuckDB memory_limit (profiles.yml, same default), given to the hand-written queries too
DUCKDB_MEMORY_LIMIT = os.environ.get("CLV_DUCKDB_MEMORY_LIMIT", "3GB")


def dbt_env(db_path: Path, work: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DBT_")}
    env.update(
        {
            "DBT_PROFILES_DIR": str(ROOT),
            "CLV_DUCKDB_PATH": str(db_path),
            "CLV_DUCKDB_TEMP_DIR": str(work / "duckdb_tmp"),
        }
    )
    return env


def dbt(
    command: str, raw: Path, db_path: Path, work: Path, extra: list[str] | None = None, vars_extra: dict | None = None
) -> dict:
    vars = {"raw_data_dir": str(raw), **(vars_extra or {})}
    cmd = [
        DBT,
        command,
        "--project-dir",
        str(ROOT),
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
        "--vars",
        json.dumps(vars),
        *(extra or []),
    ]
    result = measure(cmd, env=dbt_env(db_path, work))
    if result["returncode"] != 0:
        raise SystemExit(f"dbt {command} failed:\n{result['tail']}")
    result["parts"] = time_by_part(work / "target", result["wall"])
    return result


PARTS = [
    "models behind segment_clv",
    "their data tests",
    "predictive models",
    "other models",
    "other data tests",
    "unit tests",
    "dbt start-up, hooks, gaps",
]  # behind segment_clv: what the hand-written query computes too


def time_by_part(target: Path, wall: float) -> dict:
    """Seconds of one dbt invocation by part of the project, from its run_results.json and manifest.json:
    the models segment_clv is built from without the predictive layer (the hand-written query's work)
    and their data tests, the predictive models, the other models and tests, and what no node accounts
    for (start-up, hooks, gaps)."""
    results = json.loads((target / "run_results.json").read_text())["results"]
    manifest = json.loads((target / "manifest.json").read_text())
    parents = manifest["parent_map"]

    def predictive(node: str) -> bool:
        # the predictive branch: the predictive folders and the models through which marts read predictions
        return manifest["nodes"].get(node, {}).get("config", {}).get("meta", {}).get("branch") == "predictive"

    behind, todo = set(), ["model.clv.segment_clv"]
    while todo:
        node = todo.pop()
        if node not in behind and not predictive(node):
            behind.add(node)
            todo.extend(parents.get(node, []))
    parts = dict.fromkeys(PARTS, 0.0)
    for result in results:
        node, seconds = result["unique_id"], result["execution_time"]
        if node.startswith("model."):
            if predictive(node):
                part = "predictive models"
            elif node in behind:
                part = "models behind segment_clv"
            else:
                part = "other models"
        elif node.startswith("test."):
            tested = [n for n in parents.get(node, []) if n.startswith("model.")]
            part = "their data tests" if tested and all(n in behind for n in tested) else "other data tests"
        elif node.startswith("unit_test."):
            part = "unit tests"
        else:
            continue  # hooks: in the remainder
        parts[part] += seconds
    parts["dbt start-up, hooks, gaps"] = wall - sum(parts.values())
    return parts


def increment_files(raw: Path) -> list[tuple[Path, Path]]:
    return [(path, raw / path.parent.name / path.name) for path in sorted((raw / "_increment").glob("*/*.parquet"))]


def run_size(
    n_orders: int, work: Path, skip_reference: bool, reference_memory_gib: float, reference_timeout_s: float
) -> dict:
    raw = work / f"raw_{n_orders}"
    row: dict = {"orders": n_orders}
    if not (raw / "orders").exists():
        start = time.perf_counter()
        subprocess.run(
            [PY, str(ROOT / "scripts" / "generate_scale_data.py"), "--orders", str(n_orders), "--out", str(raw)],
            check=True,
        )
        print(f"[{n_orders:,}] generated in {time.perf_counter() - start:.0f} s", flush=True)
    for _, target in increment_files(raw):
        target.unlink(missing_ok=True)  # back to the base delivery
    size_work = work / f"run_{n_orders}"
    shutil.rmtree(size_work, ignore_errors=True)
    size_work.mkdir(parents=True)

    db = size_work / "full.duckdb"
    row["full_build"] = dbt("build", raw, db, size_work)
    print(
        f"[{n_orders:,}] full dbt build: {row['full_build']['wall']:.1f} s, "
        f"peak {row['full_build']['peak_gib']:.2f} GiB",
        flush=True,
    )

    # `dbt run`, not the user's `dbt build`, on purpose: like for like with the hand-written query, which
    # computes segment_clv and runs no test (the full build above is the user's command)
    row["segment_path"] = dbt(
        "run", raw, size_work / "segment.duckdb", size_work, ["--select", "+segment_clv"], {"enable_predictive": False}
    )
    print(f"[{n_orders:,}] dbt run +segment_clv: {row['segment_path']['wall']:.1f} s", flush=True)

    hand_out = size_work / "hand_segment_clv.parquet"
    threads = os.environ.get("CLV_DUCKDB_THREADS", "2")
    memory = DUCKDB_MEMORY_LIMIT
    query = str(ROOT / "bench" / "segment_clv_handwritten.sql")
    row["hand_query"] = measure(
        [PY, str(ROOT / "bench" / "handwritten_query.py"), str(raw), str(hand_out), threads, memory, query]
    )
    print(f"[{n_orders:,}] hand-written query: {row['hand_query']['wall']:.1f} s", flush=True)
    row["hand_matches"] = compare_with_mart(hand_out, db)

    floor_out = size_work / "clean_floor_segment_clv.parquet"
    floor_query = str(ROOT / "bench" / "segment_clv_clean_floor.sql")
    row["clean_floor"] = measure(
        [PY, str(ROOT / "bench" / "handwritten_query.py"), str(raw), str(floor_out), threads, memory, floor_query]
    )
    print(f"[{n_orders:,}] clean floor: {row['clean_floor']['wall']:.1f} s", flush=True)
    row["floor_difference"] = difference_from_mart(floor_out, db)

    if not skip_reference:
        run_reference(row, raw, size_work, db, reference_memory_gib, reference_timeout_s)

    for source, target in increment_files(raw):
        shutil.copy(source, target)
    import pyarrow.parquet as pq

    new_orders = pq.read_metadata(raw / "_increment" / "orders" / "increment-00001.parquet").num_rows
    row["increment_orders"] = new_orders
    row["incremental"] = dbt("build", raw, db, size_work)
    print(
        f"[{n_orders:,}] incremental dbt build (+{new_orders:,} orders): {row['incremental']['wall']:.1f} s", flush=True
    )
    for _, target in increment_files(raw):
        target.unlink(missing_ok=True)
    return row


def run_reference(row: dict, raw: Path, size_work: Path, db: Path, memory_gib: float, timeout_s: float) -> None:
    """The pandas reference on the base delivery, its time in row, its segment_clv compared with db's."""
    n_orders = row["orders"]
    row["reference_cap_gib"] = memory_gib
    ref_out = size_work / "reference_segment_clv.parquet"
    row.pop("reference_matches", None)
    row["reference"] = measure(
        [PY, "-m", "bench.reference_segment_clv", str(raw), str(ref_out)],
        memory_cap_bytes=int(memory_gib * 1024**3),
        timeout_s=timeout_s,
    )
    ok = row["reference"]["returncode"] == 0
    status = "ok" if ok else "FAILED: " + (row["reference"]["tail"].strip().splitlines() or ["?"])[-1]
    print(f"[{n_orders:,}] pandas reference: {row['reference']['wall']:.1f} s ({status})", flush=True)
    if ok:
        row["reference_matches"] = compare_with_mart(ref_out, db)


def rerun_reference(n_orders: int, work: Path, rows: list[dict], memory_gib: float, timeout_s: float) -> None:
    """Only the pandas reference again for one size of the last run (results.json), e.g. after a change
    to the reference: compared with the `dbt run +segment_clv` file, built on the same base delivery."""
    row = next(r for r in rows if r["orders"] == n_orders)
    raw = work / f"raw_{n_orders}"
    for _, target in increment_files(raw):
        target.unlink(missing_ok=True)
    run_reference(
        row, raw, work / f"run_{n_orders}", work / f"run_{n_orders}" / "segment.duckdb", memory_gib, timeout_s
    )


def compare_with_mart(parquet: Path, db: Path) -> str:
    """'equal' when every column of segment_clv that the other side computes matches the dbt mart at rtol 1e-9."""
    import duckdb
    import pandas as pd

    from python_checks.compare import assert_matches

    other = pd.read_parquet(parquet)
    with duckdb.connect(str(db), read_only=True) as con:
        mart = con.sql("select * from main.segment_clv").df()
    keys = ["segment_dimension", "segment_value"]
    columns = [c for c in other.columns if c in mart.columns and c not in keys and not c.startswith("predicted_")]
    try:
        assert_matches(other, mart, keys, columns, label="segment_clv")
    except AssertionError as error:
        return "DIFFERS: " + str(error)[:300]
    return f"equal ({len(columns)} columns, {len(mart)} segments)"


def difference_from_mart(parquet: Path, db: Path) -> str:
    """The clean floor's largest relative difference from the dbt mart over its rows and numeric columns
    (it trusts the data, so the scale data's bad rows make it differ)."""
    import duckdb
    import pandas as pd

    other = pd.read_parquet(parquet)
    with duckdb.connect(str(db), read_only=True) as con:
        mart = con.sql("select * from main.segment_clv").df()
    keys = ["segment_dimension", "segment_value"]
    both = other.merge(mart, on=keys, suffixes=("", "_mart"))
    worst, worst_column = 0.0, "-"
    for column in other.columns:
        if column in keys or f"{column}_mart" not in both or not pd.api.types.is_numeric_dtype(other[column]):
            continue
        if pd.api.types.is_bool_dtype(other[column]):
            continue
        mine, theirs = both[column].astype(float), both[f"{column}_mart"].astype(float)
        relative = ((mine - theirs).abs() / theirs.abs().where(theirs != 0)).max()
        if relative > worst:
            worst, worst_column = float(relative), column
    return f"{len(both)} of {len(other)} rows matched by key, largest relative difference {worst:.2%} ({worst_column})"


def table(rows: list[dict]) -> str:
    first, last = rows[0], rows[-1]
    lines = [
        "| orders | full `dbt build` | `dbt run +segment_clv` | hand-written query | build / query | pandas reference "
        "| reference / build | incremental (+0.1%) | incremental / build | peak memory (build) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        build, seg, hand, inc = (
            row["full_build"]["wall"],
            row["segment_path"]["wall"],
            row["hand_query"]["wall"],
            row["incremental"]["wall"],
        )
        ref = row.get("reference")
        if ref is None:
            ref_text, ratio_text = "not run", "-"
        elif ref["returncode"] != 0:
            # unfinished: the time until it was stopped (time limit or memory cap) bounds its time from below
            if "time limit" in (ref.get("stopped") or ""):
                ref_text, ratio_text = (
                    f"> {ref['wall']:.0f} s (stopped at the time limit)",
                    f"> {ref['wall'] / build:.1f}x",
                )
            elif "memory" in (ref.get("stopped") or ""):
                why = f"over the {row.get('reference_cap_gib', 16):g} GiB memory cap"
                ref_text, ratio_text = f"{why} after {ref['wall']:.0f} s, unfinished", f"> {ref['wall'] / build:.1f}x"
            else:
                ref_text, ratio_text = f"failed after {ref['wall']:.0f} s", "-"
        else:
            ref_text, ratio_text = f"{ref['wall']:.1f} s", f"{ref['wall'] / build:.1f}x"
        peak = max(row["full_build"]["peak_gib"], row["incremental"]["peak_gib"])
        lines.append(
            f"| {row['orders']:,} | {build:.1f} s | {seg:.1f} s | {hand:.1f} s "
            f"| {build / hand:.1f}x (run: {seg / hand:.1f}x) | {ref_text} | {ratio_text} "
            f"| {inc:.1f} s | {inc / build:.0%} | {peak:.2f} GiB |"
        )
    if len(rows) > 1:
        factor = last["orders"] / first["orders"]
        growth = {
            k: last[k]["wall"] / first[k]["wall"] for k in ("full_build", "segment_path", "hand_query", "incremental")
        }
        lines.append("")
        lines.append(
            f"{factor:.0f}x the orders ({first['orders']:,} -> {last['orders']:,}): "
            f"full build {growth['full_build']:.1f}x the time, "
            f"`dbt run +segment_clv` {growth['segment_path']:.1f}x, hand-written query {growth['hand_query']:.1f}x, "
            f"incremental run {growth['incremental']:.1f}x."
        )
    if all("clean_floor" in row for row in rows):
        lines += [
            "",
            "Like for like (`dbt run +segment_clv`, predictive off, start-up included) against the project's own "
            "quarantining query and the engine's clean floor (bench/segment_clv_clean_floor.sql):",
            "",
            "| orders | `dbt run +segment_clv` | quarantining query | clean floor | run / query | run / floor |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for row in rows:
            seg, hand, floor = (row[k]["wall"] for k in ("segment_path", "hand_query", "clean_floor"))
            lines.append(
                f"| {row['orders']:,} | {seg:.1f} s | {hand:.1f} s | {floor:.1f} s "
                f"| {seg / hand:.2f}x | {seg / floor:.2f}x |"
            )
    if all("parts" in row["full_build"] for row in rows):
        lines += [
            "",
            "Where the time goes (seconds; from dbt's run_results.json, one dbt thread so the parts add up):",
            "",
        ]
        heads = [f"{row['orders']:,}: {run}" for row in rows for run in ("full build", "incremental")]
        lines.append("| part | " + " | ".join(heads) + " |")
        lines.append("|---|" + "---:|" * len(heads))
        for part in PARTS + ["total (wall)"]:
            cells = [
                row[run]["wall"] if part == "total (wall)" else row[run]["parts"][part]
                for row in rows
                for run in ("full_build", "incremental")
            ]
            lines.append(f"| {part} | " + " | ".join(f"{c:.1f}" for c in cells) + " |")
    lines.append("")
    lines.append(
        "Hand-written query vs the dbt mart: " + "; ".join(f"{r['orders']:,}: {r['hand_matches']}" for r in rows) + "."
    )
    if all("floor_difference" in r for r in rows):
        lines.append(
            "Clean floor vs the dbt mart (it trusts the data; the scale data's bad rows make it differ): "
            + "; ".join(f"{r['orders']:,}: {r['floor_difference']}" for r in rows)
            + "."
        )
    if any("reference_matches" in r for r in rows):
        lines.append(
            "pandas reference vs the dbt mart: "
            + "; ".join(f"{r['orders']:,}: {r['reference_matches']}" for r in rows if "reference_matches" in r)
            + "."
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--work", type=Path, default=Path("/tmp/clv_scale_benchmark"))
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument(
        "--reference-memory-gib",
        type=float,
        default=REFERENCE_MEMORY_GIB,
        help="stop the reference above this resident memory",
    )
    parser.add_argument("--reference-timeout", type=float, default=0, help="seconds; 0: no limit")
    parser.add_argument("--readme", action="store_true", help="write the results table into README.md")
    parser.add_argument(
        "--render-only", action="store_true", help="re-render the table of the last run (results.json in --work)"
    )
    parser.add_argument(
        "--rerun-reference",
        action="store_true",
        help="run only the pandas reference again for --orders, into the last run's results.json",
    )
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.render_only or args.rerun_reference:
        rows = json.loads((args.work / "results.json").read_text())
        if args.rerun_reference:
            for n in args.orders:
                rerun_reference(n, args.work, rows, args.reference_memory_gib, args.reference_timeout)
            args.orders = [r["orders"] for r in rows]
    else:
        rows = [
            run_size(n, args.work, args.skip_reference, args.reference_memory_gib, args.reference_timeout)
            for n in args.orders
        ]
    command = ["python -m bench.scale_benchmark", "--orders", *map(str, args.orders)]
    if args.reference_timeout:
        command += ["--reference-timeout", str(int(args.reference_timeout))]
    if args.skip_reference:
        command += ["--skip-reference"]
    elif args.reference_memory_gib != REFERENCE_MEMORY_GIB:
        command += ["--reference-memory-gib", f"{args.reference_memory_gib:g}"]
    header = (
        f"Measured {dt.date.today().isoformat()} on {os.cpu_count()} cores ({platform.machine()}), "
        f"DuckDB threads {os.environ.get('CLV_DUCKDB_THREADS', '2')}, "
        f"memory_limit {DUCKDB_MEMORY_LIMIT}; "
        f"`{' '.join(command)}`."
    )
    text = header + "\n\n" + table(rows)
    print(text)
    (args.work / "results.json").write_text(json.dumps(rows, indent=2, default=str))
    if args.readme:
        readme = ROOT / "README.md"
        content = readme.read_text()
        start, end = "<!-- scale-benchmark:start -->", "<!-- scale-benchmark:end -->"
        if start not in content:
            raise SystemExit("README.md lacks the scale-benchmark markers")
        before, rest = content.split(start, 1)
        _, after = rest.split(end, 1)
        readme.write_text(before + start + "\n" + text + "\n" + end + after)


if __name__ == "__main__":
    main()
