#!/usr/bin/env bash
# Daily runs at scale, side by side in one run: `make build` (build, audit, publish) of a scale-benchmark raw folder,
# then the next-day delivery (its _increment/ files) built incrementally twice from the same work database, once
# with refit: weekly (the published fit reused) and once with refit: always. Wall seconds and peak RSS per run.
#
#   bash bench/daily_run.sh /tmp/clv_scale_benchmark/raw_10000000 [/tmp/clv_daily_run] [day|week|month]
#
# (from the project root; the third argument is the as_of_period of every run, day by default: with month, the
# delivery's day, the first of a month, keeps the as-of at the month end before it).
#
# The raw folder comes from `python -m bench.scale_benchmark` (or scripts/generate_scale_data.py); the delivery's
# files are copied in for the incremental runs and removed again at the end.
set -euo pipefail
RAW=$(realpath "$1")
WORK=${2:-/tmp/clv_daily_run}
PERIOD=${3:-day}
cd "$(dirname "$0")/.."
rm -rf "$WORK" && mkdir -p "$WORK"
export CLV_DUCKDB_PATH=$WORK/clv.duckdb CLV_PUBLISHED_DUCKDB_PATH=$WORK/published/clv.duckdb
export DBT_TARGET_PATH=$WORK/target DBT_LOG_PATH=$WORK/logs CLV_DUCKDB_TEMP_DIR=$WORK/tmp
delivery() { for file in "$RAW"/_increment/*/*.parquet; do "$@" "$file" "$RAW/$(basename "$(dirname "$file")")/$(basename "$file")"; done; }
remove() { rm -f "$2"; }
trap 'delivery remove' EXIT
run() {  # name, refit policy
    /usr/bin/time -f "$1: %e s, peak %M KB" make -s build VARS="{raw_data_dir: $RAW, refit: $2, as_of_period: $PERIOD}" > "$WORK/$1.log" 2>&1 \
        || { tail -30 "$WORK/$1.log"; exit 1; }
    grep -h "CLV predictive fit" "$WORK/$1.log" | sed 's/^.*CLV/  CLV/'
    tail -1 "$WORK/$1.log"
    cp "$WORK/target/run_results.json" "$WORK/$1.run_results.json"  # per-node timings: python -m bench.node_timings
}
run full_build weekly
cp "$WORK/clv.duckdb" "$WORK/after_full_build.duckdb"
delivery cp
run incremental_refit_weekly weekly
cp "$WORK/after_full_build.duckdb" "$WORK/clv.duckdb"
run incremental_refit_always always
