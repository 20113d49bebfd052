"""Writes the integration project's seeds from the demo seeds (../seeds/raw): the host's own raw tables, named
shop_<table> and with their columns in reverse order, holding the same rows. Run from the project root:

    .venv/bin/python integration_tests/make_seeds.py

The files are committed; python_checks/test_package.py checks that they still hold the demo's rows."""

from __future__ import annotations

import csv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "seeds" / "raw"
SEEDS = Path(__file__).resolve().parent / "seeds"
PREFIX = "shop_"


def host_table(rows: list[list[str]]) -> list[list[str]]:
    """A demo table as the host holds it: every column, in reverse order."""
    return [list(reversed(row)) for row in rows]


def main() -> None:
    SEEDS.mkdir(exist_ok=True)
    for demo in sorted(DEMO.glob("*.csv")):
        with demo.open(newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        with (SEEDS / f"{PREFIX}{demo.name}").open("w", newline="", encoding="utf-8") as f:
            csv.writer(f, lineterminator="\n").writerows(host_table(rows))


if __name__ == "__main__":
    main()
