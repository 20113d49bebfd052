"""Raw folders shaped like a new user's first try: minimal files, absent tables and columns, other
file formats and currencies, CDNOW's transaction log. Each builder writes a folder and returns it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from python_checks.datasets import SEEDS, demo_copy, write_table

OPTIONAL_TABLES = ["order_items", "product_costs", "refunds", "customers", "marketing_spend", "fx_rates", "inventory"]
REQUIRED_COLUMNS = {
    "orders": ["order_id", "customer_id", "ordered_at", "order_total"],
    "order_items": ["order_id", "product_id", "quantity"],
    "product_costs": ["product_id", "valid_from", "unit_cost"],
    "refunds": ["refund_id", "order_id", "amount"],
    "customers": ["customer_id"],
    "marketing_spend": ["spend_date", "channel", "amount"],
    "fx_rates": ["rate_date", "currency", "rate_to_reporting"],
    "inventory": ["period_start", "period_end", "beginning_inventory", "purchases", "ending_inventory"],
}


def three_orders(folder: Path) -> Path:
    """The smallest real try: orders.csv with the four required columns and three rows."""
    write_table(
        folder,
        "orders",
        REQUIRED_COLUMNS["orders"],
        [
            ["1001", "alice", "2025-01-15", "40.00"],
            ["1002", "alice", "2025-03-02", "25.50"],
            ["1003", "bob", "2025-02-20", "12.00"],
        ],
    )
    return folder


def without_table(table: str):
    def build(folder: Path) -> Path:
        return demo_copy(folder, [t for t in ["orders", *OPTIONAL_TABLES] if t != table])

    build.__name__ = f"without_{table}"
    return build


def required_columns_only(folder: Path) -> Path:
    """Every table of the demo data, each with its required columns only (no status, currency, unit_price, ...)."""
    demo_copy(folder)
    for table, columns in REQUIRED_COLUMNS.items():
        frame = pd.read_csv(folder / f"{table}.csv", dtype=str, keep_default_na=False)
        frame[columns].to_csv(folder / f"{table}.csv", index=False)
    return folder


def as_parquet(folder: Path) -> Path:
    """The demo tables as Parquet files (text columns, as an export from a warehouse would write them)."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in SEEDS.glob("*.csv"):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        table = pa.table({column: pa.array(frame[column].tolist(), type=pa.string()) for column in frame.columns})
        pq.write_table(table, folder / f"{path.stem}.parquet")
    return folder


def deliveries(folder: Path) -> Path:
    """orders/ and order_items/ as sub-folders of daily delivery files, the rest as single files."""
    demo_copy(folder, [t for t in OPTIONAL_TABLES if t != "order_items"])
    for table in ("orders", "order_items"):
        frame = pd.read_csv(SEEDS / f"{table}.csv", dtype=str, keep_default_na=False)
        (folder / table).mkdir(parents=True)
        for number, part in enumerate(
            [
                frame.iloc[: len(frame) // 3],
                frame.iloc[len(frame) // 3 : 2 * len(frame) // 3],
                frame.iloc[2 * len(frame) // 3 :],
            ],
            start=1,
        ):
            part.to_csv(folder / table / f"delivery_{number:02d}.csv", index=False)
    return folder


def reporting_in(currency: str):
    """The demo data with FX rates into another reporting currency (cross rates through USD, each date's rates
    carried forward), so that every order and spend row still converts."""

    def build(folder: Path) -> Path:
        demo_copy(folder)
        rates = pd.read_csv(SEEDS / "fx_rates.csv", dtype=str, keep_default_na=False)
        rates["rate_date"] = pd.to_datetime(rates.rate_date, errors="coerce", format="ISO8601")
        rates["rate_to_reporting"] = pd.to_numeric(rates.rate_to_reporting, errors="coerce")
        rates["currency"] = rates.currency.str.strip().str.upper()
        rates = rates.dropna().drop_duplicates(["rate_date", "currency"], keep=False)
        if currency not in set(rates.currency):  # JPY: a made-up rate path, 150 +- a little per USD
            dates = sorted(rates.rate_date.unique())
            made_up = pd.DataFrame(
                {
                    "rate_date": dates,
                    "currency": currency,
                    "rate_to_reporting": [1 / (150 + (i % 17) * 0.5) for i in range(len(dates))],
                }
            )
            rates = pd.concat([rates, made_up], ignore_index=True)
        wide = rates.pivot(index="rate_date", columns="currency", values="rate_to_reporting").sort_index().ffill()
        wide["USD"] = 1.0
        cross = wide.div(wide[currency], axis=0).drop(columns=[currency]).dropna(how="any")
        out = cross.stack().rename("rate_to_reporting").reset_index()
        out["rate_date"] = out.rate_date.dt.strftime("%Y-%m-%d")
        out["rate_to_reporting"] = out.rate_to_reporting.map(lambda value: f"{value:.10f}")
        out[["rate_date", "currency", "rate_to_reporting"]].to_csv(folder / "fx_rates.csv", index=False)
        return folder

    build.__name__ = f"reporting_in_{currency}"
    return build


def with_loyalty_tier(folder: Path) -> Path:
    """The demo data with a customer column of the shop's own (loyalty_tier) to segment by."""
    demo_copy(folder)
    customers = pd.read_csv(folder / "customers.csv", dtype=str, keep_default_na=False)
    customers["loyalty_tier"] = [("gold", "silver", "bronze", "")[i % 4] for i in range(len(customers))]
    customers.to_csv(folder / "customers.csv", index=False)
    return folder


def cdnow(folder: Path) -> Path:
    """CDNOW's 2,357-customer transaction log (shipped by lifetimes) as a four-column orders file. The paper
    keeps its $0.00 orders as purchases; `net revenue > 0` would drop them, so they are raised to $0.01."""
    import lifetimes.datasets

    source = Path(lifetimes.datasets.__file__).parent / "CDNOW_sample.txt"
    log = pd.read_csv(
        source, sep=r"\s+", header=None, names=["master_id", "customer_id", "date", "cds", "amount"], dtype=str
    )
    amount = log.amount.astype(float).clip(lower=0.01)
    orders = pd.DataFrame(
        {
            "order_id": [f"T{number:05d}" for number in range(1, len(log) + 1)],
            "customer_id": log.customer_id,
            "ordered_at": pd.to_datetime(log.date, format="%Y%m%d").dt.strftime("%Y-%m-%d"),
            "order_total": amount.map(lambda value: f"{value:.2f}"),
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    orders.to_csv(folder / "orders.csv", index=False)
    return folder


def load_into_schema(raw: Path, database: Path, schema: str) -> None:
    """The CSV files of a folder as tables of a schema in a DuckDB file (a user's existing warehouse schema)."""
    import duckdb

    with duckdb.connect(str(database)) as con:
        con.execute(f"create schema if not exists {schema}")
        for path in raw.glob("*.csv"):
            con.execute(
                f"create table {schema}.{path.stem} as select * from read_csv(?, all_varchar = true)", [str(path)]
            )
