"""Where a dbt build's time went: a run_results.json summed by kind of node, and its slowest nodes.

    .venv/bin/python -m bench.node_timings target/run_results.json [--top 15]     (from the project root)

dbt runs one node at a time here (threads: 1 in profiles.yml), so the node times add up to the build's
wall time less dbt's start-up (parsing, the relation cache) and the hooks of the run.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path


def kind(unique_id: str) -> str:
    resource = unique_id.split(".")[0]
    return "data test" if resource == "test" else resource.replace("_", " ")


def summary(results: dict, top: int) -> str:
    totals: dict[str, list[float]] = defaultdict(list)
    for item in results["results"]:
        totals[kind(item["unique_id"])].append(item["execution_time"])
    lines = [f"elapsed {results.get('elapsed_time', 0):.1f} s"]
    for name, times in sorted(totals.items(), key=lambda pair: -sum(pair[1])):
        lines.append(f"  {name:<10} {len(times):>4} nodes {sum(times):8.1f} s")
    lines.append(f"slowest {top}:")
    for item in sorted(results["results"], key=lambda each: -each["execution_time"])[:top]:
        lines.append(f"  {item['execution_time']:7.1f} s  {item['unique_id']}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_results", type=Path)
    parser.add_argument("--top", type=int, default=15)
    arguments = parser.parse_args()
    print(summary(json.loads(arguments.run_results.read_text()), arguments.top))


if __name__ == "__main__":
    main()
