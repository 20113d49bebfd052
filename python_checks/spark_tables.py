"""Talks to a local Spark session's warehouse (spark-warehouse + metastore_db in the working directory), in
a process of its own so that the JVM and its Derby metastore lock end with it.

    python python_checks/spark_tables.py export <table>...   # clv.<table> -> export/<table>.parquet
    python python_checks/spark_tables.py sql <statement>...  # runs each statement
"""

import sys
from pathlib import Path

from pyspark.sql import SparkSession

command, arguments = sys.argv[1], sys.argv[2:]
spark = SparkSession.builder.enableHiveSupport().getOrCreate()
if command == "export":
    Path("export").mkdir(exist_ok=True)
    for name in arguments:
        spark.table(f"clv.{name}").toPandas().to_parquet(f"export/{name}.parquet")
    print(f"exported {len(arguments)} tables to export/")
elif command == "sql":
    for statement in arguments:
        spark.sql(statement)
    print(f"ran {len(arguments)} statements")
else:
    raise SystemExit(f"unknown command {command!r}: export or sql")
spark.stop()
