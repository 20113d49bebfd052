"""The predictive layer now against the BG/NBD-only one, side by side in one run (issue 17's speed target).

    .venv/bin/python -m bench.predictive_side_by_side [--baseline f8e7c8c] [--orders 10000000] [--rounds 1]

The baseline is the project at a commit before the model choice and the uncertainty (default f8e7c8c:
BG/NBD + Gamma-Gamma, point estimates, the diagnostics marts), exported with `git archive` into --work.
Each round runs the full `dbt build` of the baseline and of this checkout, one after the other, on the
scale benchmark's raw folder for --orders (generated there by bench/scale_benchmark.py if absent), each
into a new DuckDB file, and reports the time by part of each (bench/scale_benchmark.py's accounting),
the predictive layer's ratio, and the ratio of the models behind segment_clv (the same in both
projects, up to their later optimisations: a check on the machine's speed during the run).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
from pathlib import Path

from bench.scale_benchmark import DBT, ROOT, measure, time_by_part


def export_commit(commit: str, folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def full_build(project: Path, raw: Path, work: Path) -> dict:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = {
        "PATH": str(Path(DBT).parent) + ":/usr/bin:/bin",
        "DBT_PROFILES_DIR": str(project),
        "CLV_DUCKDB_PATH": str(work / "full.duckdb"),
        "CLV_DUCKDB_TEMP_DIR": str(work / "duckdb_tmp"),
        "HOME": str(work),
    }
    cmd = [DBT, "build", "--project-dir", str(project), "--target-path", str(work / "target")]
    cmd += ["--log-path", str(work / "logs"), "--vars", json.dumps({"raw_data_dir": str(raw)})]
    result = measure(cmd, env=env)
    if result["returncode"] != 0:
        raise SystemExit(f"dbt build of {project} failed:\n{result['tail']}")
    result["parts"] = time_by_part(work / "target", result["wall"])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default="f8e7c8c")
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--work", type=Path, default=Path("/tmp/clv_scale_benchmark"))
    args = parser.parse_args()
    raw = args.work / f"raw_{args.orders}"
    if not (raw / "orders").exists():
        subprocess.run(
            [str(Path(DBT).parent / "python"), str(ROOT / "scripts" / "generate_scale_data.py")]
            + ["--orders", str(args.orders), "--out", str(raw)],
            check=True,
        )
    for increment in (raw / "_increment").glob("*/*.parquet"):
        (raw / increment.parent.name / increment.name).unlink(missing_ok=True)  # the base delivery
    baseline = export_commit(args.baseline, args.work / f"baseline_{args.baseline}")
    rows = []
    for round_number in range(1, args.rounds + 1):
        for label, project in ((f"baseline {args.baseline}", baseline), ("this checkout", ROOT)):
            result = full_build(project, raw, args.work / "side_by_side" / label.replace(" ", "_"))
            parts = result["parts"]
            rows.append((round_number, label, result["wall"], parts))
            predictive, behind = parts["predictive models"], parts["models behind segment_clv"]
            print(
                f"round {round_number}, {label}: build {result['wall']:.1f} s, predictive models {predictive:.1f} s,"
                f" models behind segment_clv {behind:.1f} s",
                flush=True,
            )
    print(
        "\n| round | project | full build | predictive models | models behind segment_clv |\n|---|---|---:|---:|---:|"
    )
    for round_number, label, wall, parts in rows:
        print(
            f"| {round_number} | {label} | {wall:.1f} s | {parts['predictive models']:.1f} s"
            f" | {parts['models behind segment_clv']:.1f} s |"
        )
    for round_number in range(1, args.rounds + 1):
        base, now = (parts for r, _, _, parts in rows if r == round_number)
        predictive = now["predictive models"] / base["predictive models"]
        behind = now["models behind segment_clv"] / base["models behind segment_clv"]
        print(
            f"round {round_number}: predictive layer {predictive:.2f}x the baseline's;"
            f" models behind segment_clv {behind:.2f}x"
        )


if __name__ == "__main__":
    main()
