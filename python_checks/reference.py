"""An independent pandas implementation of docs/definitions.md: "Bad input", "Order economics",
"Segment CLV", "Customer-level CLV" and "Gross margin by period".

It reads the raw files only (a folder of `<table>.csv`, as the demo seeds or a user's folder) and
never the project's staging, intermediate or mart tables. Every rule is written again here from the
definitions, in pandas idioms, so that a mistake in the SQL shows up as a difference.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

TABLE_COLUMNS = {
    "orders": ["order_id", "customer_id", "ordered_at", "order_total", "status", "currency"],
    "order_items": ["order_id", "product_id", "quantity", "unit_price", "order_item_id"],
    "product_costs": ["product_id", "valid_from", "unit_cost"],
    "refunds": ["refund_id", "order_id", "refunded_at", "amount"],
    "customers": ["customer_id", "created_at", "email", "country", "acquisition_channel"],
    "marketing_spend": ["spend_date", "channel", "amount", "currency"],
    "fx_rates": ["rate_date", "currency", "rate_to_reporting"],
    "inventory": ["period_start", "period_end", "beginning_inventory", "purchases", "ending_inventory"],
}
STATUSES = {"placed", "shipped", "completed", "returned", "cancelled"}
NUMBER = re.compile(r"^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]{1,3})?$")
BUILTIN_DIMENSIONS = ["acquisition_channel", "country", "cohort_year"]


@dataclass
class Config:
    as_of_date: str | None = None
    as_of_period: str = "day"
    observation_window_months: int = 12
    reporting_currency: str = "USD"
    discount_rate: float = 0.10
    clv_horizon_years: int = 10
    max_lifetime_years: float = 10.0
    default_gross_margin: float = 0.40
    margin_method: str = "items"
    segment_dimensions: list = field(default_factory=lambda: ["acquisition_channel", "country", "cohort_year"])
    overdue_factor: float = 2.0
    future_date_cutoff: str | None = None
    max_plausible_amount: float = 1e12
    raw_file_encoding: str = "utf-8"

    @property
    def custom_dimensions(self) -> list[str]:
        return [d for d in self.segment_dimensions if d not in BUILTIN_DIMENSIONS]


# ---------------------------------------------------------------------------------------------
# reading and typing


def _read_csv(path: Path, encoding: str) -> pd.DataFrame:
    """A CSV file as text. A line whose field count differs from the header's is kept as a row of its own
    with every column empty and `malformed_line` describing it (file, line number, text)."""
    import csv

    text = path.read_bytes().decode(encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    sample = text[:65536]
    try:
        delimiter = csv.Sniffer().sniff(sample.split("\n", 1)[0], delimiters=",;|\t").delimiter
    except csv.Error:  # a header of one column
        delimiter = ","
    lines = list(csv.reader(text.splitlines(keepends=True), delimiter=delimiter, quotechar='"', doublequote=True))
    if not lines:
        return pd.DataFrame()
    header = [name.strip() for name in lines[0]]
    rows, malformed = [], []
    physical = text.splitlines()
    for number, fields in enumerate(lines[1:], start=2):
        if not fields:
            continue
        if len(fields) == len(header):
            rows.append(fields)
        else:
            malformed.append(f"line {number} of {path}: {physical[number - 1]}")
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame["malformed_line"] = None
    extra = pd.DataFrame({"malformed_line": malformed})
    return pd.concat([frame, extra], ignore_index=True).fillna("") if malformed else frame.assign(malformed_line="")


def _read_table_files(raw_dir: Path, name: str, encoding: str = "utf-8") -> pd.DataFrame | None:
    """<name>.csv, <name>.parquet, or a folder <name>/ of .csv or .parquet files (as the project reads them)."""
    files = sorted(
        [
            *raw_dir.glob(f"{name}.csv"),
            *raw_dir.glob(f"{name}.parquet"),
            *raw_dir.glob(f"{name}/*.csv"),
            *raw_dir.glob(f"{name}/*.parquet"),
        ]
    )
    files = [path for path in files if path.stat().st_size > 0]  # a file of zero bytes is skipped
    if not files:
        return None
    frames = []
    for path in files:
        if path.suffix == ".csv":
            frames.append(_read_csv(path, encoding))
        else:
            frame = pd.read_parquet(path)
            for column in frame.columns:  # typed Parquet columns are read as text, as the project casts them
                values = frame[column]
                text = (
                    values
                    if pd.api.types.is_string_dtype(values)
                    else values.map(lambda v: None if pd.isna(v) else str(v), na_action="ignore")
                )
                frame[column] = text.where(values.notna(), "")
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def read_raw(raw_dir: Path, cfg: Config | None = None) -> dict[str, pd.DataFrame]:
    """Every contract table as text: lower-cased column names, trimmed values, '' as missing.

    Text columns keep pandas' own string dtype (Arrow-backed; missing values are NaN): as Python
    objects, the raw text of 10M orders and their lines alone took more than 16 GB."""
    cfg = cfg or Config()
    tables = {}
    for name, columns in TABLE_COLUMNS.items():
        columns = columns + (cfg.custom_dimensions if name == "customers" else []) + ["malformed_line"]
        df = _read_table_files(Path(raw_dir), name, cfg.raw_file_encoding)
        if df is not None:
            df.columns = [c.strip().lower() for c in df.columns]
        else:
            df = pd.DataFrame(columns=columns)
        out = pd.DataFrame(index=df.index)
        for column in columns:
            if column in df.columns:
                out[column] = [
                    v.strip() if isinstance(v, str) and v.strip() != "" else None for v in df[column].astype(object)
                ]
            else:
                out[column] = None
        tables[name] = out.reset_index(drop=True)
    return tables


def to_number(value):
    if not isinstance(value, str) or not NUMBER.match(value):
        return np.nan
    number = float(value)
    return number if math.isfinite(number) else np.nan  # beyond the double range: not a number


@functools.lru_cache(maxsize=1 << 16)  # bounded: at 10M orders nearly every timestamp is distinct
def to_timestamp(value):
    if not isinstance(value, str):
        return pd.NaT
    parsed = pd.to_datetime(value, errors="coerce", utc=True, format="ISO8601")
    if pd.isna(parsed):
        return pd.NaT
    return parsed.tz_convert(None)


def to_date(value):
    ts = to_timestamp(value)
    return pd.NaT if pd.isna(ts) else ts.normalize()


def row_flags(df: pd.DataFrame, columns: list[str], key: list[str]) -> pd.DataFrame:
    """copy_number among identical rows and whether rows sharing a non-null key differ."""
    df = df.copy()
    df["copy_number"] = df.groupby(columns, dropna=False, sort=False).cumcount() + 1
    if key:
        key_ok = df[key].notna().all(axis=1)
        versions = df[key_ok].drop_duplicates(subset=columns).groupby(key).size()
        conflicted = versions[versions > 1].index
        if len(key) == 1:
            df["conflict"] = key_ok & df[key[0]].isin(conflicted)
        else:
            df["conflict"] = key_ok & pd.MultiIndex.from_frame(df[key]).isin(conflicted)
    else:
        df["conflict"] = False
    return df


def first_reason(rules: list[tuple[str, pd.Series]], index) -> pd.Series:
    reason = pd.Series([None] * len(index), index=index, dtype=object)
    for name, mask in rules:
        mask = mask.fillna(False).astype(bool)
        reason = reason.where(reason.notna() | ~mask, name)
    return reason


def fx_lookup(frame: pd.DataFrame, date_col: str, fx: pd.DataFrame, reporting: str) -> pd.Series:
    """Latest clean rate on or before the date, per currency; 1 for the reporting currency."""
    rates = pd.Series(np.nan, index=frame.index)
    rates[frame["currency"] == reporting] = 1.0
    todo = frame[(frame["currency"] != reporting) & frame[date_col].notna()]
    if len(todo) and len(fx):
        left = pd.DataFrame(
            {
                "_row": todo.index,
                "currency": todo["currency"].astype(str),
                "day": todo[date_col].astype("datetime64[ns]"),
            }
        )
        right = fx[["currency", "rate_date", "rate_to_reporting"]].rename(columns={"rate_date": "day"})
        right = right.assign(currency=right.currency.astype(str), day=right.day.astype("datetime64[ns]")).sort_values(
            "day"
        )
        found = pd.merge_asof(left.sort_values("day"), right, on="day", by="currency", direction="backward")
        rates[found["_row"].to_numpy()] = found["rate_to_reporting"].to_numpy()
    return rates


@dataclass
class Cleaned:
    clean: dict
    quarantine: pd.DataFrame  # source_table, quarantine_reason
    raw_counts: dict


def clean(raw: dict[str, pd.DataFrame], cfg: Config, run_date: pd.Timestamp) -> Cleaned:
    cutoff = pd.Timestamp(cfg.future_date_cutoff) if cfg.future_date_cutoff else run_date.normalize()
    rep = cfg.reporting_currency
    quarantined = []
    clean_tables = {}

    bound = cfg.max_plausible_amount

    def implausible(*values):
        return pd.concat([value.abs() > bound for value in values], axis=1).any(axis=1)

    def typed(name, key, timestamps=(), dates=(), numbers=()):
        # the raw rows with their copy number and conflict flag, and each typed column beside its text as
        # <column>_p (null where the text does not parse)
        columns = TABLE_COLUMNS[name] + (cfg.custom_dimensions if name == "customers" else []) + ["malformed_line"]
        rows = row_flags(raw[name], columns, key)
        for column in timestamps:
            rows[column + "_p"] = rows[column].map(to_timestamp).astype("datetime64[ns]")
        for column in dates:
            rows[column + "_p"] = rows[column].map(to_date).astype("datetime64[ns]")
        for column in numbers:
            rows[column + "_p"] = rows[column].map(to_number).astype(float)
        return rows

    def finish(name, rows, rules, conflict_reason=None):
        # the first reasons of every table, in the models' order (clv_row_reasons): a line that is not a
        # row, a second copy of an identical row, a key whose rows disagree; then the table's own rules
        first = [("malformed_row", rows.malformed_line.notna()), ("duplicate_row", rows.copy_number > 1)]
        if conflict_reason:
            first.append((conflict_reason, rows.conflict))
        rows = rows.copy()
        rows["reason"] = first_reason([*first, *rules], rows.index)
        quarantined.append(
            pd.DataFrame({"source_table": name, "quarantine_reason": rows.loc[rows.reason.notna(), "reason"]})
        )
        clean_tables[name] = rows[rows.reason.isna()].drop(columns=["reason"]).reset_index(drop=True)

    rates = typed("fx_rates", ["rate_date", "currency"], dates=["rate_date"], numbers=["rate_to_reporting"])
    rates["currency_clean"] = rates["currency"].map(lambda v: v.upper() if isinstance(v, str) else None)
    rate_rules = [
        ("null_currency", rates.currency.isna()),
        ("unparseable_timestamp", rates.rate_date_p.isna()),
        ("unparseable_number", rates.rate_to_reporting_p.isna()),
        ("implausible_amount", implausible(rates.rate_to_reporting_p)),
        ("negative_amount", rates.rate_to_reporting_p <= 0),
        ("future_dated", rates.rate_date_p > cutoff),
    ]
    finish("fx_rates", rates, rate_rules, conflict_reason="conflicting_fx_rate")
    fx = clean_tables["fx_rates"]
    fx = pd.DataFrame(
        {
            "currency": fx["currency_clean"],
            "rate_date": fx["rate_date_p"],
            "rate_to_reporting": fx["rate_to_reporting_p"].astype(float),
        }
    )
    clean_tables["fx_rates"] = fx

    orders = typed("orders", ["order_id"], timestamps=["ordered_at"], numbers=["order_total"])
    orders["order_date"] = orders["ordered_at_p"].dt.normalize()
    orders["status_p"] = orders["status"].map(lambda v: v.lower() if isinstance(v, str) else "completed")
    orders["currency"] = orders["currency"].map(lambda v: v.upper() if isinstance(v, str) else rep)
    orders["fx_rate"] = fx_lookup(orders, "order_date", fx, rep)
    order_rules = [
        ("null_order_id", orders.order_id.isna()),
        ("null_customer_id", orders.customer_id.isna()),
        ("unparseable_timestamp", orders.ordered_at_p.isna()),
        ("unparseable_number", orders.order_total_p.isna()),
        ("implausible_amount", implausible(orders.order_total_p, orders.order_total_p * orders.fx_rate)),
        ("negative_amount", orders.order_total_p < 0),
        ("unknown_status", ~orders.status_p.isin(STATUSES)),
        ("missing_fx_rate", orders.fx_rate.isna()),
        ("future_dated", orders.order_date > cutoff),
    ]
    finish("orders", orders, order_rules, conflict_reason="conflicting_order_id")
    clean_orders = set(clean_tables["orders"]["order_id"])

    lines = typed("order_items", ["order_id", "order_item_id"], numbers=["quantity", "unit_price"])
    line_rules = [
        ("null_order_id", lines.order_id.isna()),
        ("null_product_id", lines.product_id.isna()),
        ("unparseable_number", lines.quantity_p.isna() | (lines.unit_price.notna() & lines.unit_price_p.isna())),
        ("implausible_amount", implausible(lines.quantity_p, lines.unit_price_p)),
        ("negative_amount", (lines.quantity_p <= 0) | (lines.unit_price_p < 0)),
        ("orphan_item", ~lines.order_id.isin(clean_orders)),
    ]
    finish("order_items", lines, line_rules, conflict_reason="conflicting_order_item_id")

    costs = typed("product_costs", ["product_id", "valid_from"], dates=["valid_from"], numbers=["unit_cost"])
    cost_rules = [
        ("null_product_id", costs.product_id.isna()),
        ("unparseable_timestamp", costs.valid_from_p.isna()),
        ("unparseable_number", costs.unit_cost_p.isna()),
        ("implausible_amount", implausible(costs.unit_cost_p)),
        ("negative_amount", costs.unit_cost_p < 0),
    ]
    finish("product_costs", costs, cost_rules, conflict_reason="conflicting_cost")

    refunds = typed("refunds", ["refund_id"], timestamps=["refunded_at"], numbers=["amount"])
    refund_rules = [
        ("null_refund_id", refunds.refund_id.isna()),
        ("null_order_id", refunds.order_id.isna()),
        ("unparseable_timestamp", refunds.refunded_at.notna() & refunds.refunded_at_p.isna()),
        ("unparseable_number", refunds.amount_p.isna()),
        ("implausible_amount", implausible(refunds.amount_p)),
        ("negative_amount", refunds.amount_p < 0),
        ("future_dated", refunds.refunded_at_p.dt.normalize() > cutoff),
        ("orphan_refund", ~refunds.order_id.isin(clean_orders)),
    ]
    finish("refunds", refunds, refund_rules, conflict_reason="conflicting_refund_id")

    customers = typed("customers", ["customer_id"], timestamps=["created_at"])
    customer_rules = [
        ("null_customer_id", customers.customer_id.isna()),
        ("unparseable_timestamp", customers.created_at.notna() & customers.created_at_p.isna()),
        ("future_dated", customers.created_at_p.dt.normalize() > cutoff),
    ]
    finish("customers", customers, customer_rules, conflict_reason="conflicting_customer_id")

    # spend has no key: identical rows are copies, and no two rows conflict
    spend = typed("marketing_spend", [], dates=["spend_date"], numbers=["amount"])
    spend["currency"] = spend["currency"].map(lambda v: v.upper() if isinstance(v, str) else rep)
    spend["fx_rate"] = fx_lookup(spend, "spend_date_p", fx, rep)
    spend_rules = [
        ("null_channel", spend.channel.isna()),
        ("unparseable_timestamp", spend.spend_date_p.isna()),
        ("unparseable_number", spend.amount_p.isna()),
        ("implausible_amount", implausible(spend.amount_p, spend.amount_p * spend.fx_rate)),
        ("negative_amount", spend.amount_p < 0),
        ("missing_fx_rate", spend.fx_rate.isna()),
        ("future_dated", spend.spend_date_p > cutoff),
    ]
    finish("marketing_spend", spend, spend_rules)

    stock_columns = ["beginning_inventory", "purchases", "ending_inventory"]
    inventory = typed("inventory", ["period_start"], dates=["period_start", "period_end"], numbers=stock_columns)
    stock = inventory[[column + "_p" for column in stock_columns]]
    inventory_rules = [
        ("unparseable_timestamp", inventory.period_start_p.isna() | inventory.period_end_p.isna()),
        ("unparseable_number", stock.isna().any(axis=1)),
        ("implausible_amount", implausible(*(stock[column] for column in stock.columns))),
        ("negative_amount", (stock < 0).any(axis=1)),
        ("invalid_period", inventory.period_end_p < inventory.period_start_p),
        ("future_dated", inventory.period_start_p > cutoff),
    ]
    finish("inventory", inventory, inventory_rules, conflict_reason="conflicting_period_start")

    quarantine = pd.concat(quarantined, ignore_index=True)
    return Cleaned(clean_tables, quarantine, {k: len(v) for k, v in raw.items()})


# ---------------------------------------------------------------------------------------------
# metrics


def ntile5(frame: pd.DataFrame, sort_cols: list[str], ascending: list[bool]) -> pd.Series:
    """SQL ntile(5): the first n % 5 buckets get one extra row."""
    ordered = frame.sort_values(sort_cols, ascending=ascending, kind="mergesort").index
    n = len(ordered)
    base, rem = divmod(n, 5)
    buckets = []
    for b in range(5):
        buckets += [b + 1] * (base + (1 if b < rem else 0))
    return pd.Series(buckets, index=ordered).reindex(frame.index)


def period_end(latest: pd.Timestamp, period: str) -> pd.Timestamp:
    """The as-of of var as_of_period: the latest order date (day), the last Sunday on or before it (week: weeks
    run Monday to Sunday), or the last month end on or before it (month)."""
    if period == "week":
        return latest - pd.Timedelta(days=(latest.day_of_week + 1) % 7)
    if period == "month":
        return latest if latest.is_month_end else latest.replace(day=1) - pd.Timedelta(days=1)
    return latest


def compute(raw_dir: Path, cfg: Config | None = None, run_date: str | None = None) -> dict[str, pd.DataFrame]:
    cfg = cfg or Config()
    run_ts = pd.Timestamp(run_date) if run_date else pd.Timestamp.now().normalize()
    cleaned = clean(read_raw(raw_dir, cfg), cfg, run_ts)
    tables = cleaned.clean
    default_margin = cfg.default_gross_margin

    orders = tables["orders"]
    orders = pd.DataFrame(
        {
            "order_id": orders["order_id"],
            "customer_id": orders["customer_id"],
            "ordered_at": orders["ordered_at_p"],
            "order_date": orders["order_date"],
            "status": orders["status_p"],
            "order_total": orders["order_total_p"].astype(float),
            "fx_rate": orders["fx_rate"].astype(float),
        }
    )

    # COGS at the cost valid on the order date
    items = tables["order_items"][["order_id", "product_id"]].copy()
    items["quantity"] = tables["order_items"]["quantity_p"].astype(float)
    costs = pd.DataFrame(
        {
            "product_id": tables["product_costs"]["product_id"],
            "valid_from": tables["product_costs"]["valid_from_p"],
            "unit_cost": tables["product_costs"]["unit_cost_p"].astype(float),
        }
    )
    items = items.merge(orders[["order_id", "order_date"]], on="order_id")
    items = pd.merge_asof(
        items.assign(product_id=items.product_id.astype(str)).sort_values("order_date"),
        costs.assign(product_id=costs.product_id.astype(str)).sort_values("valid_from"),
        left_on="order_date",
        right_on="valid_from",
        by="product_id",
        direction="backward",
    )
    items["line_cost"] = items["quantity"] * items["unit_cost"]
    per_order = items.groupby("order_id").agg(
        lines=("quantity", "size"),
        missing=("unit_cost", lambda s: s.isna().sum()),
        items_cogs=("line_cost", lambda s: s.sum(min_count=1)),
    )
    refunds = (
        tables["refunds"].assign(amount=tables["refunds"]["amount_p"].astype(float)).groupby("order_id")["amount"].sum()
    )

    orders = orders.merge(per_order, left_on="order_id", right_index=True, how="left")
    orders["refunded"] = orders["order_id"].map(refunds).fillna(0.0)
    orders["net_revenue"] = orders["order_total"] * orders["fx_rate"] - orders["refunded"] * orders["fx_rate"]
    orders["is_cogs_estimated"] = orders["lines"].isna() | (orders["missing"].fillna(0) > 0)
    orders["cogs"] = np.where(
        orders["is_cogs_estimated"], orders["net_revenue"] * (1 - default_margin), orders["items_cogs"]
    )
    orders["gross_profit"] = orders["net_revenue"] - orders["cogs"]

    # as-of and windows
    as_of = pd.Timestamp(cfg.as_of_date) if cfg.as_of_date else period_end(orders["order_date"].max(), cfg.as_of_period)
    months = cfg.observation_window_months
    years = months / 12
    w_start = as_of - pd.DateOffset(months=months)
    w0_start = as_of - pd.DateOffset(months=2 * months)

    purchases = orders[(orders.status != "cancelled") & (orders.net_revenue > 0) & (orders.order_date <= as_of)].copy()
    purchases["in_w"] = purchases.order_date > w_start
    purchases["in_w0"] = (purchases.order_date > w0_start) & (purchases.order_date <= w_start)
    purchases["w_revenue"] = purchases.net_revenue.where(purchases.in_w, 0.0)
    purchases["w_cogs"] = purchases.cogs.where(purchases.in_w, 0.0)

    customers_raw = tables["customers"]
    attrs = pd.DataFrame(
        {
            "customer_id": customers_raw["customer_id"],
            "acquisition_channel": customers_raw["acquisition_channel"].map(
                lambda v: v.lower() if isinstance(v, str) else "unknown"
            ),
            "country": customers_raw["country"].map(lambda v: v.upper() if isinstance(v, str) else "unknown"),
            **{
                column: customers_raw[column].map(lambda v: v if isinstance(v, str) else "unknown")
                for column in cfg.custom_dimensions
            },
        }
    ).set_index("customer_id")

    by_customer = purchases.groupby("customer_id")
    cust = pd.DataFrame(
        {
            "first_purchase_date": by_customer.order_date.min(),
            "last_purchase_date": by_customer.order_date.max(),
            "purchases": by_customer.size(),
            "revenue": by_customer.net_revenue.sum(),
            "cogs": by_customer.cogs.sum(),
            "gross_profit": by_customer.gross_profit.sum(),
            "window_orders": by_customer.in_w.sum(),
            "window_revenue": by_customer.w_revenue.sum(),
            "window_cogs": by_customer.w_cogs.sum(),
            "active_w": by_customer.in_w.any(),
            "active_w0": by_customer.in_w0.any(),
        }
    )
    cust["acquisition_channel"] = cust.index.map(lambda c: attrs["acquisition_channel"].get(c, "unknown"))
    cust["country"] = cust.index.map(lambda c: attrs["country"].get(c, "unknown"))
    for column in cfg.custom_dimensions:
        cust[column] = cust.index.map(lambda c, column=column: attrs[column].get(c, "unknown"))
    cust["cohort_year"] = cust.first_purchase_date.dt.year
    cust["cohort_month"] = cust.first_purchase_date.dt.to_period("M").dt.to_timestamp()
    cust["is_new"] = cust.first_purchase_date > w_start
    cust["tenure_days"] = (as_of - cust.first_purchase_date).dt.days
    cust["recency_days"] = (as_of - cust.last_purchase_date).dt.days
    cust["avg_gap"] = np.where(
        cust.purchases > 1,
        (cust.last_purchase_date - cust.first_purchase_date).dt.days / (cust.purchases - 1).clip(lower=1),
        np.nan,
    )
    cust.index.name = "customer_id"
    cust = cust.reset_index()

    results = {}
    results["segment_clv"] = segment_clv(
        cust, tables["marketing_spend"], cfg, as_of, w_start, years, inventory_periods(tables["inventory"], purchases)
    )
    results["customer_clv"] = customer_clv(cust, purchases, cfg, as_of)
    results["value_tiers"] = value_tiers(results["customer_clv"])
    results["acquisition_cac"] = acquisition_cac(cust, tables["marketing_spend"], as_of)
    results["cohort_retention"] = cohort_retention(cust, purchases, as_of)
    results["gross_margin_by_period"] = inventory_periods(tables["inventory"], purchases)
    quarantine = cleaned.quarantine
    results["quarantine_counts"] = (
        quarantine.groupby(["source_table", "quarantine_reason"]).size().rename("rows").reset_index()
    )
    recon = pd.DataFrame({"source_table": list(TABLE_COLUMNS)})
    recon["raw_rows"] = recon.source_table.map(cleaned.raw_counts)
    recon["clean_rows"] = recon.source_table.map(lambda s: len(tables[s]))
    recon["quarantined_rows"] = recon.source_table.map(lambda s: int((quarantine.source_table == s).sum()))
    results["data_quality_reconciliation"] = recon
    results["as_of_date"] = as_of
    results["orders_priced"] = orders
    results["purchases"] = purchases
    return results


def bgnbd_summary(purchases: pd.DataFrame, cutoff, unit_days: float = 7.0) -> pd.DataFrame:
    """Per customer: x (repeat purchase days), t_x, T in time units, mean revenue of the repeat days."""
    purchases_to_cutoff = purchases[purchases.order_date <= cutoff]
    days = (
        purchases_to_cutoff.groupby(["customer_id", "order_date"])
        .agg(revenue=("net_revenue", "sum"), gp=("gross_profit", "sum"))
        .reset_index()
    )
    days = days.sort_values(["customer_id", "order_date"])
    days["n"] = days.groupby("customer_id").cumcount()
    by_customer = days.groupby("customer_id")
    out = pd.DataFrame(
        {
            "frequency": by_customer.size() - 1,
            "recency": (by_customer.order_date.max() - by_customer.order_date.min()).dt.days / unit_days,
            "T": (pd.Timestamp(cutoff) - by_customer.order_date.min()).dt.days / unit_days,
            "repeat_revenue": days[days.n > 0].groupby("customer_id").revenue.sum(),
            "margin": by_customer.gp.sum() / by_customer.revenue.sum(),
        }
    )
    out["repeat_revenue"] = out.repeat_revenue.fillna(0.0)
    out["monetary_value"] = np.where(out.frequency > 0, out.repeat_revenue / out.frequency.clip(lower=1), np.nan)
    return out.reset_index()


def numerical_pareto_covariance(params, frequency, recency, age, step: float = 1e-3) -> np.ndarray:
    """Pareto/NBD's covariance from lifetimes' likelihood (a test-only reference; lifetimes publishes no
    Pareto/NBD standard errors and autograd cannot differentiate its 2F1): the Hessian of the total
    log-likelihood in the log-parameters by second-order central differences of the function (four points
    per pair), inverted, carried to the parameters (delta method)."""
    from lifetimes import ParetoNBDFitter

    theta = np.asarray(params, dtype=float)

    def value(log_theta):
        return ParetoNBDFitter._conditional_log_likelihood(np.exp(log_theta), frequency, recency, age).sum()

    base, k = np.log(theta), len(theta)
    information = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            ei, ej = np.eye(k)[i] * step, np.eye(k)[j] * step
            information[i, j] = -(
                value(base + ei + ej) - value(base + ei - ej) - value(base - ei + ej) + value(base - ei - ej)
            ) / (4 * step * step)
    return np.outer(theta, theta) * np.linalg.inv(information)


def inventory_periods(inventory: pd.DataFrame, purchases: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for _, p in inventory.iterrows():
        inside = purchases[(purchases.order_date >= p.period_start_p) & (purchases.order_date <= p.period_end_p)]
        revenue = inside.net_revenue.sum()
        cogs_items = inside.cogs.sum()
        cogs_inventory = p.beginning_inventory_p + p.purchases_p - p.ending_inventory_p
        rows.append(
            {
                "period_start": p.period_start_p,
                "period_end": p.period_end_p,
                "purchases": len(inside),
                "revenue": revenue,
                "cogs_items": cogs_items,
                "beginning_inventory": p.beginning_inventory_p,
                "inventory_purchases": p.purchases_p,
                "ending_inventory": p.ending_inventory_p,
                "cogs_inventory": cogs_inventory,
                "gross_margin_items": (revenue - cogs_items) / revenue if revenue else np.nan,
                "gross_margin_inventory": (revenue - cogs_inventory) / revenue if revenue else np.nan,
            }
        )
    columns = [
        "period_start",
        "period_end",
        "purchases",
        "revenue",
        "cogs_items",
        "beginning_inventory",
        "inventory_purchases",
        "ending_inventory",
        "cogs_inventory",
        "gross_margin_items",
        "gross_margin_inventory",
    ]
    return pd.DataFrame(rows, columns=columns)


def discounted_clv(annual_margin: float, retention: float, discount_rate: float, horizon: int) -> float:
    if annual_margin is None or retention is None or math.isnan(annual_margin) or math.isnan(retention):
        return np.nan
    return sum(annual_margin * retention ** (t - 1) / (1 + discount_rate) ** t for t in range(1, horizon + 1))


def segment_clv(cust, spend_clean, cfg: Config, as_of, w_start, years, periods) -> pd.DataFrame:
    spend = pd.DataFrame(
        {
            "channel": spend_clean["channel"].map(lambda v: v.lower() if isinstance(v, str) else None),
            "date": spend_clean["spend_date_p"],
            "amount": spend_clean["amount_p"].astype(float) * spend_clean["fx_rate"].astype(float),
        }
    )
    has_spend = len(spend) > 0
    spend_w = spend[(spend.date > w_start) & (spend.date <= as_of)]

    if cfg.margin_method == "inventory":
        inside = periods[(periods.period_end > w_start) & (periods.period_end <= as_of)]
        rev = inside.revenue.sum()
        inv_margin = (rev - inside.cogs_inventory.sum()) / rev if len(inside) and rev else cfg.default_gross_margin
    segments = [("all", cust.assign(_v="all"))] + [
        (d, cust.assign(_v=cust[d].astype(str))) for d in cfg.segment_dimensions
    ]
    rows = []
    for dim, frame in segments:
        groups = list(frame.groupby("_v"))
        if dim == "all" and not groups:  # no purchase on or before as_of: the whole business, empty
            groups = [("all", frame)]
        for value, s in groups:
            prior = int(s.active_w0.sum())
            retained = int((s.active_w0 & s.active_w).sum())
            row = {
                "segment_dimension": dim,
                "segment_value": value,
                "as_of_date": as_of,
                "customers": len(s),
                "active_customers": int(s.active_w.sum()),
                "orders": int(s.window_orders.sum()),
                "revenue": s.window_revenue.sum(),
                "cogs": s.window_cogs.sum(),
                "prior_window_customers": prior,
                "retained_customers": retained,
                "new_customers": int(s.is_new.sum()),
            }
            row["aov"] = row["revenue"] / row["orders"] if row["orders"] else np.nan
            row["purchase_frequency"] = (
                row["orders"] / row["active_customers"] / years if row["active_customers"] else np.nan
            )
            if cfg.margin_method == "items":
                row["gross_margin"] = (row["revenue"] - row["cogs"]) / row["revenue"] if row["revenue"] else np.nan
            elif cfg.margin_method == "inventory":
                row["gross_margin"] = inv_margin
            else:
                row["gross_margin"] = cfg.default_gross_margin
            row["segment_retention"] = (retained / prior) ** (1 / years) if prior else np.nan
            if not has_spend:
                row["acquisition_spend"] = np.nan
            elif dim == "all":
                row["acquisition_spend"] = spend_w.amount.sum()
            elif dim == "acquisition_channel" and value == "unknown":
                row["acquisition_spend"] = np.nan  # no channel: no spend to attribute
            elif dim == "acquisition_channel":
                row["acquisition_spend"] = spend_w[spend_w.channel == value].amount.sum()
            else:
                row["acquisition_spend"] = np.nan
            rows.append(row)
    out = pd.DataFrame(rows)
    business = out.loc[out.segment_dimension == "all", "segment_retention"].iloc[0] if len(out) else np.nan
    out["retention_rate"] = out.segment_retention.where(out.segment_retention.notna(), business)
    out["is_retention_imputed"] = out.segment_retention.isna() & pd.notna(business)
    out["churn_rate"] = 1 - out.retention_rate
    cap = cfg.max_lifetime_years
    out["expected_lifetime_years"] = out.churn_rate.map(
        lambda c: np.nan if pd.isna(c) else (cap if c == 0 else min(1 / c, cap))
    )
    out["is_lifetime_capped"] = out.churn_rate.map(lambda c: False if pd.isna(c) else (c == 0 or 1 / c > cap))
    out["annual_margin"] = out.aov * out.purchase_frequency * out.gross_margin
    out["clv_revenue"] = out.aov * out.purchase_frequency * out.expected_lifetime_years
    out["clv_margin"] = out.annual_margin * out.expected_lifetime_years
    out["clv_discounted"] = [
        discounted_clv(m, r, cfg.discount_rate, cfg.clv_horizon_years)
        for m, r in zip(out.annual_margin, out.retention_rate, strict=True)
    ]
    out["cac"] = [
        spend / new if pd.notna(spend) and new else np.nan
        for spend, new in zip(out.acquisition_spend, out.new_customers, strict=True)
    ]
    out["ltv_to_cac_ratio"] = [
        clv / cac if pd.notna(cac) and cac != 0 and pd.notna(clv) else np.nan
        for clv, cac in zip(out.clv_discounted, out.cac, strict=True)
    ]
    out["is_cac_below_ltv"] = [
        None if pd.isna(k) or pd.isna(c) else bool(k < c) for c, k in zip(out.clv_discounted, out.cac, strict=True)
    ]
    out["clv_net_of_cac"] = out.clv_discounted - out.cac
    out["cac_payback_months"] = [
        cac / (margin / 12) if pd.notna(cac) and pd.notna(margin) and margin != 0 else np.nan
        for cac, margin in zip(out.cac, out.annual_margin, strict=True)
    ]

    def health(c, k):
        if pd.isna(k) or pd.isna(c):
            return "unknown"
        if c >= 3 * k:
            return "healthy"
        return "marginal" if c >= k else "unprofitable"

    out["ltv_cac_health"] = [health(c, k) for c, k in zip(out.clv_discounted, out.cac, strict=True)]
    return out.drop(columns=["segment_retention"])


def customer_clv(cust, purchases, cfg: Config, as_of) -> pd.DataFrame:
    customers = cust.copy()
    gaps = (
        purchases.sort_values(["customer_id", "ordered_at", "order_id"])
        .groupby("customer_id")
        .order_date.diff()
        .dt.days.dropna()
    )
    median_gap = float(np.median(gaps)) if len(gaps) else np.nan
    customers["aov"] = customers.revenue / customers.purchases
    customers["avg_days_between_purchases"] = customers.avg_gap
    customers["r_score"] = ntile5(customers, ["recency_days", "customer_id"], [False, True])
    customers["f_score"] = ntile5(customers, ["purchases", "customer_id"], [True, True])
    # money is ranked at 1e-6 so that float summation order cannot break a tie differently
    customers["revenue_key"] = customers.revenue.round(6)
    customers["m_score"] = ntile5(customers, ["revenue_key", "customer_id"], [True, True])
    customers["rfm_cell"] = (
        customers.r_score.astype(str) + customers.f_score.astype(str) + customers.m_score.astype(str)
    )

    def label(r, f, m):
        if r >= 4 and f >= 4 and m >= 4:
            return "champions"
        if r >= 3 and f >= 4:
            return "loyal"
        if r >= 4 and f <= 2:
            return "new_customers"
        if r <= 2 and f >= 3:
            return "at_risk"
        if r <= 2:
            return "hibernating"
        return "potential_loyalists"

    customers["rfm_segment"] = [
        label(r, f, m) for r, f, m in zip(customers.r_score, customers.f_score, customers.m_score, strict=True)
    ]
    order = customers.sort_values(["revenue_key", "customer_id"], ascending=[False, True], kind="mergesort").index
    customers.loc[order, "revenue_rank"] = np.arange(1, len(customers) + 1)
    n = len(customers)
    customers["value_tier"] = [
        "vip" if r * 100 <= n * 5 else "high" if r * 100 <= n * 20 else "medium" if r * 100 <= n * 50 else "low"
        for r in customers.revenue_rank
    ]
    basis = customers.avg_gap.where(customers.avg_gap.notna(), median_gap)
    customers["overdue_threshold_days"] = cfg.overdue_factor * basis
    customers["is_overdue"] = [
        None if pd.isna(threshold) else bool(recency > threshold)
        for recency, threshold in zip(customers.recency_days, customers.overdue_threshold_days, strict=True)
    ]
    customers["as_of_date"] = as_of
    return customers


def value_tiers(customers: pd.DataFrame) -> pd.DataFrame:
    rows = []
    total_rev, total_gp, n = customers.revenue.sum(), customers.gross_profit.sum(), len(customers)
    for rank, tier in enumerate(["vip", "high", "medium", "low"], start=1):
        s = customers[customers.value_tier == tier]
        rows.append(
            {
                "value_tier": tier,
                "tier_rank": rank,
                "customers": len(s),
                "revenue": s.revenue.sum(),
                "gross_profit": s.gross_profit.sum(),
                "share_of_customers": len(s) / n if n else np.nan,
                "share_of_revenue": s.revenue.sum() / total_rev if total_rev else np.nan,
                "share_of_gross_profit": s.gross_profit.sum() / total_gp if total_gp else np.nan,
                "revenue_per_customer": s.revenue.sum() / len(s) if len(s) else np.nan,
                "min_customer_revenue": s.revenue.min() if len(s) else np.nan,
            }
        )
    return pd.DataFrame(rows)


def acquisition_cac(cust, spend_clean, as_of) -> pd.DataFrame:
    spend = pd.DataFrame(
        {
            "acquisition_channel": spend_clean["channel"].map(lambda v: v.lower() if isinstance(v, str) else None),
            "date": spend_clean["spend_date_p"],
            "amount": spend_clean["amount_p"].astype(float) * spend_clean["fx_rate"].astype(float),
        }
    )
    has_spend = len(spend) > 0
    spend = spend[spend.date <= as_of]
    spend["month_start"] = spend.date.dt.to_period("M").dt.to_timestamp()
    monthly = spend.groupby(["acquisition_channel", "month_start"]).amount.sum()
    new = cust.groupby(["acquisition_channel", "cohort_month"]).size()
    new.index = new.index.set_names(["acquisition_channel", "month_start"])
    keys = sorted(set(monthly.index) | set(new.index))
    rows = []
    for ch, month in keys:
        s = monthly.get((ch, month), 0.0) if has_spend and ch != "unknown" else np.nan
        k = int(new.get((ch, month), 0))
        rows.append(
            {
                "acquisition_channel": ch,
                "month_start": month,
                "acquisition_spend": s,
                "new_customers": k,
                "cac": s / k if k and pd.notna(s) else np.nan,
            }
        )
    return pd.DataFrame(
        rows, columns=["acquisition_channel", "month_start", "acquisition_spend", "new_customers", "cac"]
    )


def cohort_retention(cust, purchases, as_of) -> pd.DataFrame:
    columns = [
        "cohort_month",
        "months_since_first_purchase",
        "cohort_customers",
        "active_customers",
        "retention_rate",
        "revenue",
        "cumulative_revenue_per_customer",
    ]
    if len(purchases) == 0:  # no purchase on or before as_of: no cohort
        return pd.DataFrame(columns=columns)
    cohort_of = cust.set_index("customer_id").cohort_month
    cohort_purchases = purchases.assign(cohort_month=purchases.customer_id.map(cohort_of))
    cohort_purchases["k"] = (cohort_purchases.order_date.dt.year - cohort_purchases.cohort_month.dt.year) * 12 + (
        cohort_purchases.order_date.dt.month - cohort_purchases.cohort_month.dt.month
    )
    active = cohort_purchases.groupby(["cohort_month", "k"]).customer_id.nunique()
    revenue = cohort_purchases.groupby(["cohort_month", "k"]).net_revenue.sum()
    rows = []
    for cohort, size in cust.groupby("cohort_month").size().items():
        last = (as_of.year - cohort.year) * 12 + (as_of.month - cohort.month)
        cumulative = 0.0
        for k in range(0, last + 1):
            rev = float(revenue.get((cohort, k), 0.0))
            cumulative += rev
            a = int(active.get((cohort, k), 0))
            rows.append(
                {
                    "cohort_month": cohort,
                    "months_since_first_purchase": k,
                    "cohort_customers": int(size),
                    "active_customers": a,
                    "retention_rate": a / size,
                    "revenue": rev,
                    "cumulative_revenue_per_customer": cumulative / size,
                }
            )
    return pd.DataFrame(rows, columns=columns)
