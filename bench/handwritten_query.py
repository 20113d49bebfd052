"""Runs the hand-written segment_clv query (bench/segment_clv_handwritten.sql) on a raw folder with DuckDB
and writes its result as Parquet: the engine's floor in the scale benchmark.

    python bench/handwritten_query.py <raw folder> <out.parquet> <threads> <memory limit> <query.sql>
"""

import datetime
import sys
from pathlib import Path

import duckdb

raw, out, threads, memory = sys.argv[1:5]
sql = Path(sys.argv[5]).read_text().replace("{raw}", raw).replace("{cutoff}", datetime.date.today().isoformat())
con = duckdb.connect(config={"threads": int(threads), "memory_limit": memory, "preserve_insertion_order": False})
con.sql(sql).df().to_parquet(out)
print(f"segment_clv of the hand-written query written to {out}")
