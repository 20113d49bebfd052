"""A user's first real try: the README's own-data command, exactly, on folders shaped like theirs.

Every case runs `make build VARS='{raw_data_dir: <folder>, ...}'` (a `dbt build` of models, seeds, data
tests and unit tests, nothing excluded, into a fresh work database; then the publish step) and must pass
with no warning and no error; the published segment_clv (the `all` row and every segment) and
reconciliation must equal the pandas reference computed from the same folder. The builds run two at a
time (the machine's two cores).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
from lifetimes import BetaGeoFitter, GammaGammaFitter

from python_checks import first_build_data as data
from python_checks.compare import assert_matches, assert_reconciliation_matches
from python_checks.datasets import only_orders
from python_checks.project import PREDICTIVE, make_build
from python_checks.reference import Config, bgnbd_summary, compute

DEMO = data.demo_copy
CASES = {
    # name: (folder builder, vars beyond raw_data_dir)
    "three_orders_four_columns": (data.three_orders, {}),
    "orders_only_four_columns": (only_orders, {}),
    **{f"without_{table}": (data.without_table(table), {}) for table in data.OPTIONAL_TABLES},
    "required_columns_only": (data.required_columns_only, {}),
    "parquet_files": (data.as_parquet, {}),
    "delivery_sub_folders": (data.deliveries, {}),
    "reporting_currency_eur": (data.reporting_in("EUR"), {"reporting_currency": "EUR"}),
    "reporting_currency_jpy": (data.reporting_in("JPY"), {"reporting_currency": "JPY"}),
    "time_unit_day": (DEMO, {"time_unit": "day"}),
    "window_1_month": (DEMO, {"observation_window_months": 1}),
    "window_6_months": (DEMO, {"observation_window_months": 6}),
    "window_24_months": (DEMO, {"observation_window_months": 24}),
    "no_segment_dimensions": (DEMO, {"segment_dimensions": []}),
    "custom_segment_column": (data.with_loyalty_tier, {"segment_dimensions": ["acquisition_channel", "loyalty_tier"]}),
    "as_of_mid_history": (DEMO, {"as_of_date": "2024-09-30"}),
    "as_of_before_any_order": (DEMO, {"as_of_date": "2019-06-30"}),
    "margin_method_inventory": (DEMO, {"margin_method": "inventory"}),
    "margin_method_fixed": (DEMO, {"margin_method": "fixed", "default_gross_margin": 0.3}),
    "raw_schema_on_duckdb": (DEMO, {}),
    "cdnow_transaction_log": (data.cdnow, {"as_of_date": "1998-06-30", "holdout_months": 9}),
}
REFERENCE_VARS = set(Config.__dataclass_fields__)


def build_case(name: str, root) -> dict:
    builder, vars = CASES[name]
    work = root / name
    raw = builder(work / "raw")
    started = time.monotonic()
    if name == "raw_schema_on_duckdb":
        # the README's warehouse-schema command: raw tables in a schema of the database dbt builds into
        data.load_into_schema(raw, work / "clv.duckdb", "shop_raw")
        result = make_build(work, {"raw_schema": "shop_raw", **vars})
    else:
        result = make_build(work, {"raw_data_dir": str(raw), **vars})
    return {"name": name, "raw": raw, "vars": vars, "result": result, "seconds": time.monotonic() - started}


@pytest.fixture(scope="module")
def first_builds(tmp_path_factory):
    root = tmp_path_factory.mktemp("first_build")
    with ThreadPoolExecutor(max_workers=2) as pool:
        builds = list(pool.map(lambda name: build_case(name, root), CASES))
    timing = ", ".join(f"{b['name']} {b['seconds']:.0f}s" for b in builds)
    print(f"\nfirst-build matrix: {timing}")
    return {b["name"]: b for b in builds}


@pytest.mark.parametrize("name", list(CASES))
def test_first_build_passes_and_matches_the_reference(first_builds, name):
    build = first_builds[name]
    result = build["result"]
    assert result.returncode == 0, result.output[-6000:]
    assert "WARN=0 ERROR=0 SKIP=0" in result.output, result.output[-3000:]
    assert "publish: published run" in result.output, result.output[-3000:]
    assert "unit_test" in result.output or "::test_" in result.output  # the dbt unit tests ran in this build
    config = Config(**{k: v for k, v in build["vars"].items() if k in REFERENCE_VARS})
    expected = compute(build["raw"], config)
    actual = result.table("segment_clv")
    assert len(actual) > 0
    assert ("all", "all") in set(zip(actual.segment_dimension, actual.segment_value, strict=True))
    keys = ["segment_dimension", "segment_value"]
    columns = [
        c
        for c in actual.columns
        if c not in keys and not c.startswith(PREDICTIVE) and c in expected["segment_clv"].columns
    ]
    assert_matches(actual, expected["segment_clv"], keys, columns, label=f"{name}/segment_clv")
    assert_reconciliation_matches(
        result.table("data_quality_reconciliation"),
        expected["data_quality_reconciliation"],
        label=f"{name}/reconciliation",
    )


def test_cdnow_calibration_fit_equals_the_published_parameters(first_builds):
    """Fader, Hardie & Lee (2005) on CDNOW's 39 + 39 weeks: r 0.243, alpha 4.414, a 0.793, b 2.426, LL -9582.4;
    Gamma-Gamma (Fader, Hardie & Lee 2005b) p 6.25, q 3.74, gamma 15.44."""
    result = first_builds["cdnow_transaction_log"]["result"]
    assert result.returncode == 0, result.output[-6000:]
    params = result.read(
        "select model, parameter, value, log_likelihood, customers_used from clv_model_parameters"
        " where fit = 'calibration'"
    )
    values = {(row.model, row.parameter): row.value for row in params.itertuples()}
    published = {
        ("bg_nbd", "r"): 0.243,
        ("bg_nbd", "alpha"): 4.414,
        ("bg_nbd", "a"): 0.793,
        ("bg_nbd", "b"): 2.426,
        ("gamma_gamma", "p"): 6.25,
        ("gamma_gamma", "q"): 3.74,
        ("gamma_gamma", "gamma"): 15.44,
    }
    for key, value in published.items():
        digits = len(str(value).split(".")[1])
        assert round(values[key], digits) == pytest.approx(value, abs=10**-digits / 2 + 1e-12), key
    bg = params[params.model == "bg_nbd"]
    assert round(bg.log_likelihood.iloc[0], 1) == -9582.4
    assert bg.customers_used.iloc[0] == 2357


def test_cdnow_standard_errors_equal_lifetimes(first_builds):
    """The calibration fit's standard errors against lifetimes' fitters (a test-only reference) on the
    39-week summary of the same raw orders file, to 1%."""
    build = first_builds["cdnow_transaction_log"]
    params = build["result"].read("select * from clv_model_parameters where fit = 'calibration'")
    standard_errors = {(row.model, row.parameter): row.standard_error for row in params.itertuples()}
    orders = pd.read_csv(build["raw"] / "orders.csv", dtype=str)
    purchases = pd.DataFrame(
        {
            "customer_id": orders.customer_id,
            "order_date": pd.to_datetime(orders.ordered_at),
            "net_revenue": orders.order_total.astype(float),
            "gross_profit": 0.0,
        }
    )
    summary = bgnbd_summary(purchases, pd.Timestamp("1997-09-30"), 7.0)
    bg = BetaGeoFitter().fit(summary.frequency, summary.recency, summary["T"])
    repeat = summary[summary.frequency > 0]
    gg = GammaGammaFitter().fit(repeat.frequency, repeat.monetary_value)
    for name in ("r", "alpha", "a", "b"):
        assert standard_errors[("bg_nbd", name)] == pytest.approx(bg.standard_errors_[name], rel=0.01), name
    for name, theirs in (("p", "p"), ("q", "q"), ("gamma", "v")):
        assert standard_errors[("gamma_gamma", name)] == pytest.approx(gg.standard_errors_[theirs], rel=0.01), name
