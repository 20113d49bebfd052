"""int_bgnbd_histories_predicted reuses the predictions of the histories it already holds under the same
prediction signature (docs/decisions.md, "Predictions reused"), and gives what a full build gives.

Through the README's daily command (`make build`, `refit: weekly`) with the as-of pinned (as_of_date, as it
is between period ends with as_of_period week or month): a delivery of late orders within the lookback
changes the histories of the customers who placed them only, and the published fit is reused, so the second
run predicts those histories and keeps the other rows as they were (their dbt_processed_at the first run's).
Its table and customer_clv equal those of a build of the same data in a new work database beside the same
published database (the same fit reused, every history predicted). A changed setting the predictions read
(discount_rate) changes the signature: every history is predicted again.
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


def _run(work, vars):
    """The daily command; its result reads the work database (the published one holds the marts only)."""
    result = make_build(work, vars)
    assert result.returncode == 0, result.output[-6000:]
    assert "WARN=0 ERROR=0 SKIP=0" in result.output, result.output[-3000:]
    return DbtResult(0, result.output, work / "clv.duckdb")


def _table(result):
    return result.read(f"select * from {TABLE}").sort_values(KEY).reset_index(drop=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    data = tmp_path_factory.mktemp("reuse_data") / "raw"
    generator.generate(6_000, data, seed=11, increment_fraction=0.0)
    orders = pq.read_table(data / "orders" / "part-00000.parquet").to_pandas()
    clean = orders[orders["order_id"].str.match(r"^O\d+$", na=False) & (orders["status"] == "completed")]
    as_of = pd.to_datetime(clean["ordered_at"], errors="coerce").max().strftime("%Y-%m-%d")
    vars = {"raw_data_dir": str(data), "as_of_date": as_of, "refit": "weekly"}
    work, beside = tmp_path_factory.mktemp("reuse_work"), tmp_path_factory.mktemp("reuse_full")
    first = _table(_run(work, vars))
    shutil.copytree(work / "published", beside / "published")  # its fit, for a build without a work database
    customers = clean.sort_values("ordered_at")["customer_id"].drop_duplicates().iloc[:3].tolist()
    _late_orders(data, as_of, customers)
    sql = "select customer_id, predicted_clv, p_alive from customer_clv order by customer_id"
    second_result = _run(work, vars)
    second, second_clv = _table(second_result), second_result.read(sql)  # read now: the next run rewrites it
    full_result = _run(beside, vars)
    full, full_clv = _table(full_result), full_result.read(sql)
    changed = _table(_run(work, {**vars, "discount_rate": 0.13}))
    return first, second, full, changed, second_clv, full_clv


def test_the_second_build_predicts_only_the_changed_histories(runs):
    first, second, _, _, _, _ = runs
    first_written = first["dbt_processed_at"].max()
    reused = second[second["dbt_processed_at"] == first_written]
    predicted = second[second["dbt_processed_at"] > first_written]
    assert len(reused) + len(predicted) == len(second)
    # the late orders moved a few histories (three customers: at most six histories, in two fits x 3 models)
    assert 0 < len(predicted) <= 6 * 3, len(predicted)
    assert len(reused) >= len(second) - 6 * 3
    # a reused row is the first build's row as it was
    same = reused.merge(first, on=KEY, suffixes=("", "_first"))
    assert len(same) == len(reused)
    for column in ("p_alive", "expected_purchases_365d", "discounted_purchases_horizon"):
        assert np.array_equal(same[column].to_numpy(), same[f"{column}_first"].to_numpy(), equal_nan=True), column
    assert set(second["prediction_signature"]) == set(first["prediction_signature"])


def test_reuse_gives_what_a_full_build_gives(runs):
    _, second, full, _, mart, reference = runs
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
    _, second, _, changed, _, _ = runs
    assert changed["dbt_processed_at"].min() > second["dbt_processed_at"].max()
    assert set(changed["prediction_signature"]).isdisjoint(set(second["prediction_signature"]))
    valued = changed["is_valued"] & changed["discounted_purchases_horizon"].notna()
    merged = changed[valued].merge(second, on=KEY, suffixes=("", "_before"))
    # a higher discount rate discounts the same expected purchases more
    assert (merged["discounted_purchases_horizon"] < merged["discounted_purchases_horizon_before"]).all()
