"""Raw folders the tests build on, written from the demo seeds or from scratch."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pandas as pd

from python_checks.project import SEEDS


def write_table(folder: Path, name: str, header: list[str], rows: list[list]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{name}.csv", "w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def demo_copy(folder: Path, tables: list[str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for path in SEEDS.glob("*.csv"):
        if tables is None or path.stem in tables:
            shutil.copy(path, folder / path.name)
    return folder


def only_orders(folder: Path) -> Path:
    """Nothing but orders.csv with the four required columns."""
    orders = pd.read_csv(SEEDS / "orders.csv", dtype=str, keep_default_na=False)
    folder.mkdir(parents=True, exist_ok=True)
    orders[["order_id", "customer_id", "ordered_at", "order_total"]].to_csv(folder / "orders.csv", index=False)
    return folder


def one_currency(folder: Path) -> Path:
    """Every order and spend row in the reporting currency; no fx_rates table."""
    demo_copy(
        folder, ["orders", "order_items", "product_costs", "refunds", "customers", "marketing_spend", "inventory"]
    )
    for name in ("orders", "marketing_spend"):
        df = pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
        df["currency"] = "USD"
        df.to_csv(folder / f"{name}.csv", index=False)
    return folder


def single_purchase(folder: Path) -> Path:
    """Every customer bought exactly once: the demo orders cut to each customer's first order."""
    demo_copy(folder)
    orders = pd.read_csv(folder / "orders.csv", dtype=str, keep_default_na=False)
    orders = orders[orders.status.str.strip().str.lower().isin(["completed", "shipped", "placed", ""])]
    orders = orders[orders.ordered_at.str.match(r"^\d{4}-\d{2}-\d{2}")].sort_values("ordered_at")
    orders = orders.drop_duplicates("customer_id").drop_duplicates("order_id", keep=False)
    orders.to_csv(folder / "orders.csv", index=False)
    (folder / "refunds.csv").unlink()
    return folder


def monthly_buyers(folder: Path) -> Path:
    """Zero churn: every customer buys every month for three years, so retention is 1 and the lifetime cap applies."""
    orders, customers = [], []
    for c in range(1, 31):
        cid = f"K{c:03d}"
        customers.append(
            [cid, "2023-01-01", f"k{c}@example.com", "US" if c % 2 else "GB", "email" if c % 3 else "organic"]
        )
        for month in range(36):
            year, m = 2023 + month // 12, month % 12 + 1
            orders.append(
                [
                    f"K{c:03d}-{month:02d}",
                    cid,
                    f"{year}-{m:02d}-{(c % 27) + 1:02d} 10:00:00",
                    f"{10 + c + month % 5}.50",
                    "completed",
                    "USD",
                ]
            )
    write_table(
        folder, "orders", ["order_id", "customer_id", "ordered_at", "order_total", "status", "currency"], orders
    )
    write_table(
        folder, "customers", ["customer_id", "created_at", "email", "country", "acquisition_channel"], customers
    )
    return folder


def new_channel(folder: Path) -> Path:
    """The demo data plus a channel whose customers all arrived in the observation window (no W0 customers)."""
    demo_copy(folder)
    with open(folder / "orders.csv", "a", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        for c in range(1, 9):
            writer.writerow([f"N{c:03d}", f"NEW{c:03d}", f"2025-0{c}-15 12:00:00", f"{40 + c}.00", "completed", "USD"])
            writer.writerow(
                [f"N{c:03d}b", f"NEW{c:03d}", f"2025-{c + 2:02d}-20 12:00:00", f"{20 + c}.00", "completed", "USD"]
            )
    with open(folder / "customers.csv", "a", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        for c in range(1, 9):
            writer.writerow([f"NEW{c:03d}", "2025-01-01 00:00:00", f"new{c}@example.com", "US", "podcast"])
    with open(folder / "marketing_spend.csv", "a", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["2025-03-01", "podcast", "900.00", "USD"])
    return folder
