"""What publishing costs on DuckDB: the publish step's time beside the `dbt build` it follows, and the disk
of the work, published and previous files, on the demo data and on scale data.

    python -m bench.publish_benchmark                       # the demo seeds
    python -m bench.publish_benchmark --orders 10000000     # scripts/generate_scale_data.py data

For each size it runs `dbt build` into a new work file (timed), then the publish step of `make build`
twice (scripts/publish.py, timed: the first publish of an empty published folder and a second one that
also keeps the previous file), and prints seconds, the publish/build ratio and the file sizes. One run,
side by side, on this machine: quote the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DBT = str(Path(sys.executable).parent / "dbt")


def mib(path: Path) -> float:
    return path.stat().st_size / 2**20 if path.exists() else 0.0


def measure(label: str, work: Path, vars: dict) -> dict:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DBT_", "CLV_"))}
    env.update(
        {
            "DBT_PROFILES_DIR": str(ROOT),
            "CLV_DUCKDB_PATH": str(work / "clv.duckdb"),
            "CLV_PUBLISHED_DUCKDB_PATH": str(work / "published" / "clv.duckdb"),
            "CLV_DUCKDB_TEMP_DIR": str(work / "tmp"),
            "DBT_TARGET_PATH": str(work / "target"),
            "DBT_LOG_PATH": str(work / "logs"),
        }
    )
    command = [DBT, "build", "--vars", json.dumps(vars)] if vars else [DBT, "build"]
    started = time.monotonic()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    build_seconds = time.monotonic() - started
    os.environ.update(env)
    from scripts import publish  # reads the paths from the environment set above

    publisher = publish.DuckDBPublisher()
    results = json.loads((work / "target" / "run_results.json").read_text())
    results["returncode"] = 0
    passed, failed, tests_passed = publish.audit(results)
    assert passed, failed
    relations = publish.consumer_relations(json.loads((work / "target" / "manifest.json").read_text()))
    seconds = []
    for _ in range(2):
        started = time.monotonic()
        publisher.publish(results, tests_passed, relations)
        seconds.append(time.monotonic() - started)
    return {
        "data": label,
        "dbt build s": round(build_seconds, 1),
        "publish s (first)": round(seconds[0], 2),
        "publish s (again, keeping the previous)": round(seconds[1], 2),
        "publish / build": f"{seconds[1] / build_seconds:.1%}",
        "work file MiB": round(mib(work / "clv.duckdb"), 1),
        "published file MiB": round(mib(work / "published" / "clv.duckdb"), 1),
        "previous file MiB": round(mib(work / "published" / "clv.previous.duckdb"), 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, nargs="*", default=[])
    parser.add_argument("--work", type=Path, default=Path("/tmp/clv_publish_benchmark"))
    arguments = parser.parse_args()
    rows = [measure("demo seeds", arguments.work / "demo", {})]
    for orders in arguments.orders:
        raw = arguments.work / f"raw_{orders}"
        if not (raw / "orders").exists():
            generator = [sys.executable, str(ROOT / "scripts" / "generate_scale_data.py"), "--orders", str(orders)]
            subprocess.run([*generator, "--out", str(raw)], check=True, capture_output=True)
        rows.append(measure(f"{orders:,} orders", arguments.work / f"build_{orders}", {"raw_data_dir": str(raw)}))
    columns = list(rows[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        print("| " + " | ".join(str(row[column]) for column in columns) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
