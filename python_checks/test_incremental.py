"""An incremental run after a delivery of new raw rows gives the same marts as a full refresh.

The base data comes from scripts/generate_scale_data.py (Parquet folders, bad rows of every kind);
the delivery is its next-day increment (new orders of returning and new customers, their lines,
refunds of orders of the last weeks, an order arriving late within the lookback) plus rows written
here for the cases the incremental logic must get right:
- a copy of a recent order (duplicate_row) and a conflicting version of another one (both copies
  quarantined: the clean order already priced must leave int_orders_priced);
- the order of an order line and of a refund that were orphans in the base data;
- a refund of an order placed long before the lookback (the order is priced again);
- a new refund whose order arrives in the same delivery, and a refund whose date does not parse.
"""

from __future__ import annotations

import shutil

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from python_checks.compare import assert_matches
from python_checks.project import KEYS as MART_AND_MODEL_KEYS
from python_checks.project import MART_KEYS, PREDICTIVE, PREDICTIVE_MART_KEYS, build_ok, published_columns
from python_checks.reference import compute
from scripts import generate_scale_data as generator

KEYS = dict(
    MART_AND_MODEL_KEYS,
    # the incremental models themselves: raw_row is kept for quarantined rows only, and a clean row
    # is identified by its key (orders, refunds) or its content hash (order lines)
    base_raw__orders=["raw_key", "raw_row", "copy_number"],
    base_raw__order_items=["order_item_id", "raw_row", "copy_number"],
    base_raw__refunds=["raw_key", "raw_row", "copy_number"],
    int_orders_priced=["order_id"],
)
INCREMENTAL = ["base_raw__orders", "base_raw__order_items", "base_raw__refunds", "int_orders_priced"]


def _append(folder, table, rows):
    path = folder / table / "part-00000.parquet"
    schema = pq.read_schema(path)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), folder / table / "increment-hand-written.parquet")


def _deliver(folder):
    """Copy the generator's next-day increment into the raw folders, plus the hand-written cases."""
    for table_dir in (folder / "_increment").iterdir():
        for path in table_dir.glob("*.parquet"):
            shutil.copy(path, folder / table_dir.name / path.name)
    orders = pq.read_table(folder / "orders" / "part-00000.parquet").to_pandas()
    orders = orders[orders["order_id"].str.match(r"^O\d+$", na=False)]
    recent = orders.sort_values("ordered_at").iloc[-5:].to_dict("records")
    old = orders.sort_values("ordered_at").iloc[100].to_dict()
    new_day = "2026-01-01 12:00:00"
    _append(
        folder,
        "orders",
        [
            recent[0],  # duplicate_row of an order within the lookback
            {**recent[1], "order_total": "123.45"},  # conflicting_order_id: the priced order must go
            # the orders of the base data's orphan line (OX099) and orphan refund (OX098), and of a new refund
            {
                "order_id": "OX099",
                "customer_id": "C1",
                "ordered_at": new_day,
                "order_total": "40.00",
                "status": "completed",
                "currency": "USD",
            },
            {
                "order_id": "OX098",
                "customer_id": "C2",
                "ordered_at": new_day,
                "order_total": "30.00",
                "status": "completed",
                "currency": "USD",
            },
            {
                "order_id": "ONEW1",
                "customer_id": "C3",
                "ordered_at": new_day,
                "order_total": "25.00",
                "status": "completed",
                "currency": "USD",
            },
        ],
    )
    _append(
        folder,
        "refunds",
        [
            {
                "refund_id": "RNEW1",
                "order_id": old["order_id"],
                "refunded_at": new_day,
                "amount": "1.00",
            },  # order long before the lookback
            {"refund_id": "RNEW2", "order_id": "ONEW1", "refunded_at": new_day, "amount": "5.00"},
            {
                "refund_id": "RNEW3",
                "order_id": recent[2]["order_id"],
                "refunded_at": "soon",
                "amount": "5.00",
            },  # unparseable_timestamp
        ],
    )
    return old["order_id"], recent[1]["order_id"]


@pytest.fixture(scope="module")
def incremental_and_full(tmp_path_factory):
    data = tmp_path_factory.mktemp("scale_data") / "raw"
    generator.generate(20_000, data, seed=3, increment_fraction=0.01)
    vars = {"raw_data_dir": str(data)}
    work = tmp_path_factory.mktemp("incremental")
    build_ok("build", work, vars)
    before = (
        build_ok("build", work, vars).read("select count(*) as n from base_raw__orders").n[0]
    )  # a no-op incremental run
    old_order, conflicting_order = _deliver(data)
    incremental = build_ok("build", work, vars)
    full = build_ok("build", tmp_path_factory.mktemp("full_refresh"), vars)
    return incremental, full, before, old_order, conflicting_order, data


@pytest.mark.parametrize("model", list(KEYS))
def test_incremental_run_equals_full_refresh(incremental_and_full, model):
    incremental, full, *_ = incremental_and_full
    actual = incremental.table(model).drop(columns=["dbt_processed_at"], errors="ignore")
    expected = full.table(model).drop(columns=["dbt_processed_at"], errors="ignore")
    assert len(expected) > 0
    assert len(actual) == len(expected), (
        f"{model}: {len(actual)} rows after the incremental run, {len(expected)} after a full refresh"
    )
    predictive = [c for c in expected.columns if c.startswith(PREDICTIVE) or model in PREDICTIVE_MART_KEYS]
    exact = [c for c in expected.columns if c not in KEYS[model] and c not in predictive]
    if exact:
        assert_matches(actual, expected, KEYS[model], exact, label=model)
    if predictive:
        # the fits stop at a gradient tolerance: the last bits of a float sum that DuckDB adds up in
        # another order can move the optimum by ~1e-8, so the model outputs are compared at 1e-6
        assert_matches(
            actual, expected, KEYS[model], [c for c in predictive if c not in KEYS[model]], label=model, rtol=1e-6
        )


def test_incremental_run_reads_only_the_recent_rows(incremental_and_full):
    incremental, full, before, *_ = incremental_and_full
    for model in INCREMENTAL:
        counts = incremental.read(
            f"select count(*) as total, count(*) filter (where dbt_processed_at = "
            f"(select max(dbt_processed_at) from {model})) as last_run from {model}"
        )
        total, last_run = int(counts.total[0]), int(counts.last_run[0])
        assert 0 < last_run < 0.1 * total, f"{model}: the incremental run rewrote {last_run} of {total} rows"
    assert before < len(incremental.table("base_raw__orders"))


def test_delivery_changes_what_it_should(incremental_and_full):
    incremental, _, _, old_order, conflicting_order, _ = incremental_and_full
    priced = incremental.read("select order_id, refunds from int_orders_priced")
    assert conflicting_order not in set(priced.order_id), "an order quarantined by the delivery stayed priced"
    assert priced.set_index("order_id").loc[old_order, "refunds"] > 0, "a refund of an old order did not reprice it"
    orders = incremental.read("select quarantine_reason from base_raw__orders where raw_key in ('OX099', 'OX098')")
    lines = incremental.read("select quarantine_reason from base_raw__order_items where order_id = 'OX099'")
    refunds = incremental.read("select quarantine_reason from base_raw__refunds where order_id in ('OX098', 'ONEW1')")
    assert len(orders) == 2 and orders.quarantine_reason.isna().all()
    assert len(lines) >= 1 and lines.quarantine_reason.isna().all(), (
        "an orphan line stayed orphan after its order arrived"
    )
    assert len(refunds) >= 2 and refunds.quarantine_reason.isna().all(), (
        "an orphan refund stayed orphan after its order arrived"
    )
    assert incremental.table("data_quality_reconciliation").is_reconciled.all()


@pytest.mark.parametrize("mart", list(MART_KEYS))
def test_incremental_marts_match_the_pandas_reference(incremental_and_full, mart):
    """Independent of the full refresh: the marts after the incremental run equal the pandas reference
    computed from the raw files as delivered."""
    incremental, *_, data = incremental_and_full
    expected = _reference(data)[mart]
    columns = [c for c in published_columns(incremental, mart) if c not in MART_KEYS[mart]]
    assert_matches(incremental.table(mart), expected, MART_KEYS[mart], columns, label=mart)


_REFERENCE = {}


def _reference(data):
    if data not in _REFERENCE:
        _REFERENCE[data] = compute(data)
    return _REFERENCE[data]
