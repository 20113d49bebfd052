"""int_bgnbd_histories_predicted reuses the predictions of the histories it already holds under the same
prediction signature (docs/decisions.md #43), int_purchases_sequenced and int_customers_bgnbd_inputs recompute
only the changed customers (#44), and both give what a full build gives.

Through the README's daily command (`make build`, `refit: weekly`) with the as-of pinned (as_of_date, as it
is between period ends with as_of_period week or month): a delivery of late orders within the lookback
changes the histories of the customers who placed them only, and the published fit is reused, so the second
run predicts those histories and keeps the other rows as they were (their dbt_processed_at the first run's).
The delivery also holds a differing copy of two recent orders (both rows quarantined: the order is gone), one
the only order of its customer (who leaves the customer layer) and one of a customer with other orders.
Its table and customer_clv equal those of a build of the same data in a new work database beside the same
published database (the same fit reused, every history predicted). A changed setting the predictions read
(discount_rate) changes the signature: every history is predicted again, while the customer layer, which does
not read it, recomputes the changed customers only; a changed default_gross_margin (COGS) recomputes everyone.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from python_checks.project import DbtResult, make_build
from scripts import generate_scale_data as generator

TABLE = "int_bgnbd_histories_predicted"
KEY = ["fit", "model", "frequency", "recency", "customer_age"]
CUSTOMER_TABLES = {"int_purchases_sequenced": ["order_id"], "int_customers_bgnbd_inputs": ["fit", "customer_id"]}


def _late_orders(folder, as_of, customers):
    """Orders dated the day before the as-of (within the lookback) for customers who already ordered."""
    path = folder / "orders" / "part-00000.parquet"
    schema = pq.read_schema(path)
    day = (pd.Timestamp(as_of) - pd.Timedelta(days=1)).strftime("%Y-%m-%d 10:00:00")
    rows = [
        {
            "order_id": f"OLATE{n}",
            "customer_id": customer,
            "ordered_at": day,
            "order_total": "55.00",
            "status": "completed",
            "currency": "USD",
        }
        for n, customer in enumerate(customers)
    ]
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), folder / "orders" / "late-orders.parquet")


def _conflicting_copies(folder, orders):
    """A differing copy of each of these raw orders (order_total changed): both rows are quarantined."""
    schema = pq.read_schema(folder / "orders" / "part-00000.parquet")
    copies = orders.assign(order_total="999.99")[schema.names]
    table = pa.Table.from_pandas(copies, schema=schema, preserve_index=False)
    pq.write_table(table, folder / "orders" / "late-conflicts.parquet")


def _run(work, vars):
    """The daily command; its result reads the work database (the published one holds the marts only)."""
    result = make_build(work, vars)
    assert result.returncode == 0, result.output[-6000:]
    assert "WARN=0 ERROR=0 SKIP=0" in result.output, result.output[-3000:]
    return DbtResult(0, result.output, work / "clv.duckdb")


def _table(result, table=TABLE, key=KEY):
    return result.read(f"select * from {table}").sort_values(key).reset_index(drop=True)


def _tables(result):
    return {"predicted": _table(result)} | {table: _table(result, table, key) for table, key in CUSTOMER_TABLES.items()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    data = tmp_path_factory.mktemp("reuse_data") / "raw"
    generator.generate(6_000, data, seed=11, increment_fraction=0.0)
    orders = pq.read_table(data / "orders" / "part-00000.parquet").to_pandas()
    clean = orders[orders["order_id"].str.match(r"^O\d+$", na=False) & (orders["status"] == "completed")]
    as_of = pd.to_datetime(clean["ordered_at"], errors="coerce").max().strftime("%Y-%m-%d")
    vars = {"raw_data_dir": str(data), "as_of_date": as_of, "refit": "weekly"}
    work, beside = tmp_path_factory.mktemp("reuse_work"), tmp_path_factory.mktemp("reuse_full")
    first = _tables(_run(work, vars))
    shutil.copytree(work / "published", beside / "published")  # its fit, for a build without a work database
    customers = clean.sort_values("ordered_at")["customer_id"].drop_duplicates().iloc[:3].tolist()
    _late_orders(data, as_of, customers)
    # two recent orders (within the lookback), each the only raw row of its id, of customers not above
    counts = clean["customer_id"].value_counts()
    recent = orders[
        orders["order_id"].isin(clean["order_id"])
        & ~orders["order_id"].duplicated(keep=False)
        & (pd.to_datetime(orders["ordered_at"], errors="coerce") >= pd.Timestamp(as_of) - pd.Timedelta(days=1))
        & ~orders["customer_id"].isin(customers)
    ]
    alone = recent[recent["customer_id"].map(counts) == 1].iloc[:1]
    among = recent[recent["customer_id"].map(counts) >= 3].iloc[:1]
    assert len(alone) == 1 and len(among) == 1
    _conflicting_copies(data, pd.concat([alone, among]))
    sql = "select customer_id, predicted_clv, p_alive from customer_clv order by customer_id"
    second_result = _run(work, vars)
    second, second_clv = _tables(second_result), second_result.read(sql)  # read now: the next run rewrites it
    full_result = _run(beside, vars)
    full, full_clv = _tables(full_result), full_result.read(sql)
    changed = _tables(_run(work, {**vars, "discount_rate": 0.13}))
    margin = _tables(_run(work, {**vars, "discount_rate": 0.13, "default_gross_margin": 0.5}))
    return {
        "first": first,
        "second": second,
        "full": full,
        "changed": changed,
        "margin": margin,
        "second_clv": second_clv,
        "full_clv": full_clv,
        "moved": {"late": customers, "alone": alone.iloc[0], "among": among.iloc[0]},
    }


def test_the_second_build_predicts_only_the_changed_histories(runs):
    first, second = runs["first"]["predicted"], runs["second"]["predicted"]
    first_written = first["dbt_processed_at"].max()
    reused = second[second["dbt_processed_at"] == first_written]
    predicted = second[second["dbt_processed_at"] > first_written]
    assert len(reused) + len(predicted) == len(second)
    # the delivery moved a few histories (five customers: at most five new histories per fit, x 3 models)
    assert 0 < len(predicted) <= 5 * 2 * 3, len(predicted)
    assert len(reused) >= len(second) - 5 * 2 * 3
    # a reused row is the first build's row as it was
    same = reused.merge(first, on=KEY, suffixes=("", "_first"))
    assert len(same) == len(reused)
    for column in ("p_alive", "expected_purchases_365d", "discounted_purchases_horizon"):
        assert np.array_equal(same[column].to_numpy(), same[f"{column}_first"].to_numpy(), equal_nan=True), column
    assert set(second["prediction_signature"]) == set(first["prediction_signature"])


def test_reuse_gives_what_a_full_build_gives(runs):
    second, full = runs["second"]["predicted"], runs["full"]["predicted"]
    mart, reference = runs["second_clv"], runs["full_clv"]
    assert second[KEY].equals(full[KEY])
    values = [c for c in full.columns if c not in KEY + ["dbt_processed_at"]]
    for column in values:
        a, b = second[column].to_numpy(), full[column].to_numpy()
        if a.dtype.kind == "f":
            assert np.allclose(a, b, rtol=1e-12, atol=0, equal_nan=True), column
        else:
            assert (a == b).all(), column
    assert mart["customer_id"].equals(reference["customer_id"])
    for column in ("predicted_clv", "p_alive"):
        assert np.allclose(mart[column], reference[column], rtol=1e-12, equal_nan=True), column


def test_a_changed_setting_predicts_every_history_again(runs):
    second, changed = runs["second"]["predicted"], runs["changed"]["predicted"]
    assert changed["dbt_processed_at"].min() > second["dbt_processed_at"].max()
    assert set(changed["prediction_signature"]).isdisjoint(set(second["prediction_signature"]))
    valued = changed["is_valued"] & changed["discounted_purchases_horizon"].notna()
    merged = changed[valued].merge(second, on=KEY, suffixes=("", "_before"))
    # a higher discount rate discounts the same expected purchases more
    assert (merged["discounted_purchases_horizon"] < merged["discounted_purchases_horizon_before"]).all()


@pytest.mark.parametrize("table", CUSTOMER_TABLES)
def test_the_customer_layer_recomputes_only_the_changed_customers(runs, table):
    first, second, moved = runs["first"][table], runs["second"][table], runs["moved"]
    first_written = first["dbt_processed_at"].max()
    rewritten = set(second.loc[second["dbt_processed_at"] > first_written, "customer_id"])
    kept = second[second["dbt_processed_at"] == first_written]
    assert len(kept) + second["customer_id"].isin(rewritten).sum() == len(second)
    # the customers of the delivery, and those with orders within the lookback, priced again
    assert set(moved["late"]) | {moved["among"].customer_id} <= rewritten
    assert 0 < len(rewritten) <= 0.1 * second["customer_id"].nunique(), len(rewritten)
    # a kept row is the first build's row as it was; a customer is rewritten whole
    key = CUSTOMER_TABLES[table]
    same = kept.merge(first, on=key, suffixes=("", "_first"))
    assert len(same) == len(kept)
    assert (same["dbt_processed_at_first"] == first_written).all()
    assert not set(kept["customer_id"]) & rewritten
    # the conflicting copies took the order away: the customer of the only order is gone from the table
    assert moved["alone"].customer_id in set(first["customer_id"])
    assert moved["alone"].customer_id not in set(second["customer_id"])
    if "order_id" in key:
        assert moved["among"].order_id in set(first["order_id"])
        assert moved["among"].order_id not in set(second["order_id"])


@pytest.mark.parametrize("table", CUSTOMER_TABLES)
def test_the_customer_layer_equals_a_full_build(runs, table):
    second, full = runs["second"][table], runs["full"][table]
    key = CUSTOMER_TABLES[table]
    assert second[key].equals(full[key])
    for column in (c for c in full.columns if c not in key + ["dbt_processed_at"]):
        a, b = second[column].to_numpy(), full[column].to_numpy()
        if a.dtype.kind == "f":  # sums of the order lines: the engine's parallel summation order, last bits
            assert np.allclose(a, b, rtol=1e-12, atol=0, equal_nan=True), column
        else:
            assert pd.Series(a).equals(pd.Series(b)), column


@pytest.mark.parametrize("table", CUSTOMER_TABLES)
def test_a_changed_setting_recomputes_every_customer_only_when_read(runs, table):
    second, changed, margin = runs["second"][table], runs["changed"][table], runs["margin"][table]
    key = CUSTOMER_TABLES[table]
    # discount_rate is not read here: the signature stays, the customers priced again only are rewritten
    assert set(changed["parameters_signature"]) == set(second["parameters_signature"])
    rewritten = changed["dbt_processed_at"] > second["dbt_processed_at"].max()
    assert 0 < rewritten.sum() <= 0.1 * len(changed), rewritten.sum()
    # default_gross_margin is (COGS): the signature moved, every row was rewritten
    assert margin["dbt_processed_at"].min() > changed["dbt_processed_at"].max()
    assert set(margin["parameters_signature"]).isdisjoint(set(changed["parameters_signature"]))
    assert margin[key].equals(changed[key])
    if "cogs" in margin:
        estimated = margin["is_cogs_estimated"]
        assert estimated.any()
        assert np.allclose(margin.loc[estimated, "cogs"], margin.loc[estimated, "net_revenue"] * 0.5, rtol=1e-12)
