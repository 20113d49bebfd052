"""Runs the pandas reference on a raw folder and writes its segment_clv as Parquet (the scale benchmark times it).

python -m bench.reference_segment_clv <raw folder> <out.parquet>     (from the project root)
"""

import sys

from python_checks.reference import compute

result = compute(sys.argv[1])
result["segment_clv"].to_parquet(sys.argv[2])
print(f"segment_clv of the reference written to {sys.argv[2]}")
