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

import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter, ParetoNBDFitter

from python_checks import first_build_data as data
from python_checks.compare import assert_matches, assert_reconciliation_matches
from python_checks.datasets import only_orders
from python_checks.project import PREDICTIVE, make_build
from python_checks.reference import Config, bgnbd_summary, compute, numerical_pareto_covariance

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
    "purchase_model_pareto_nbd": (DEMO, {"purchase_model": "pareto_nbd"}),
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
    Pareto/NBD (Fader, Hardie & Lee 2005, "RFM and CLV") r 0.553, alpha 10.578, s 0.606, beta 11.669,
    LL -9595.0; Gamma-Gamma (Fader, Hardie & Lee 2005b) p 6.25, q 3.74, gamma 15.44."""
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
        ("pareto_nbd", "r"): 0.553,
        ("pareto_nbd", "alpha"): 10.578,
        ("pareto_nbd", "s"): 0.606,
        ("pareto_nbd", "beta"): 11.669,
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
    pareto = params[params.model == "pareto_nbd"]
    assert round(pareto.log_likelihood.iloc[0], 1) == -9595.0
    assert pareto.customers_used.iloc[0] == 2357


def cdnow_calibration_summary(build):
    """The 39-week calibration summary of the same raw orders file, computed independently in pandas."""
    orders = pd.read_csv(build["raw"] / "orders.csv", dtype=str)
    purchases = pd.DataFrame(
        {
            "customer_id": orders.customer_id,
            "order_date": pd.to_datetime(orders.ordered_at),
            "net_revenue": orders.order_total.astype(float),
            "gross_profit": 0.0,
        }
    )
    return bgnbd_summary(purchases, pd.Timestamp("1997-09-30"), 7.0)


def test_cdnow_mbgnbd_and_the_model_choice(first_builds):
    """MBG/NBD on CDNOW against lifetimes' ModifiedBetaGeoFitter (parameters to 1e-3, log-likelihood to 0.01),
    and the published choice: each purchase model's holdout error by lifetimes' formulas, the rule applied."""
    build = first_builds["cdnow_transaction_log"]
    params = build["result"].read("select * from clv_model_parameters where fit = 'calibration'")
    values = {(row.model, row.parameter): row.value for row in params.itertuples()}
    summary = cdnow_calibration_summary(build)
    f, r, t = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    mbg = ModifiedBetaGeoFitter().fit(f, r, t)
    for name in ("r", "alpha", "a", "b"):
        assert values[("mbg_nbd", name)] == pytest.approx(mbg.params_[name], rel=1e-3), name
    mbg_ll = -mbg._negative_log_likelihood(np.log(mbg.params_.to_numpy()), f, r, t, np.ones(len(f)), 0.0) * len(f)
    assert params[params.model == "mbg_nbd"].log_likelihood.iloc[0] == pytest.approx(mbg_ll, abs=0.01)
    # the holdout: the calibration customers' purchase days after 1997-09-30, up to 1998-06-30
    orders = pd.read_csv(build["raw"] / "orders.csv", dtype=str)
    days = orders.assign(day=pd.to_datetime(orders.ordered_at))[["customer_id", "day"]].drop_duplicates()
    holdout = days[(days.day > "1997-09-30") & days.customer_id.isin(summary.customer_id)]
    horizon = (pd.Timestamp("1998-06-30") - pd.Timestamp("1997-09-30")).days / 7.0
    errors = {}
    for model, fitter, names in (
        ("bg_nbd", BetaGeoFitter, ("r", "alpha", "a", "b")),
        ("mbg_nbd", ModifiedBetaGeoFitter, ("r", "alpha", "a", "b")),
        ("pareto_nbd", ParetoNBDFitter, ("r", "alpha", "s", "beta")),
    ):
        reference = fitter()
        reference.params_ = pd.Series({name: values[(model, name)] for name in names})
        predicted = reference.conditional_expected_number_of_purchases_up_to_time(horizon, f, r, t).sum()
        errors[model] = predicted / len(holdout) - 1
        published = params[params.model == model].holdout_relative_error.iloc[0]
        assert published == pytest.approx(errors[model], rel=1e-6), model
    best = min(errors, key=lambda model: abs(errors[model]))
    chosen = "bg_nbd" if abs(errors["bg_nbd"]) <= abs(errors[best]) + 0.01 else best
    selected = params[params.is_selected].model.unique()
    assert list(selected) == [chosen], errors
    print(f"\nCDNOW holdout errors: {errors}; chosen {chosen}: {params.selection_reason.dropna().iloc[0]}")
    assert f"CLV purchase model: {chosen} (auto: " in build["result"].output


def test_cdnow_standard_errors_equal_lifetimes(first_builds):
    """The calibration fit's standard errors against lifetimes' fitters (a test-only reference) on the
    39-week summary of the same raw orders file, to 1%."""
    build = first_builds["cdnow_transaction_log"]
    params = build["result"].read("select * from clv_model_parameters where fit = 'calibration'")
    standard_errors = {(row.model, row.parameter): row.standard_error for row in params.itertuples()}
    summary = cdnow_calibration_summary(build)
    bg = BetaGeoFitter().fit(summary.frequency, summary.recency, summary["T"])
    repeat = summary[summary.frequency > 0]
    gg = GammaGammaFitter().fit(repeat.frequency, repeat.monetary_value)
    mbg = ModifiedBetaGeoFitter().fit(summary.frequency, summary.recency, summary["T"])
    for name in ("r", "alpha", "a", "b"):
        assert standard_errors[("bg_nbd", name)] == pytest.approx(bg.standard_errors_[name], rel=0.01), name
        assert standard_errors[("mbg_nbd", name)] == pytest.approx(mbg.standard_errors_[name], rel=0.01), name
    for name, theirs in (("p", "p"), ("q", "q"), ("gamma", "v")):
        assert standard_errors[("gamma_gamma", name)] == pytest.approx(gg.standard_errors_[theirs], rel=0.01), name
    # Pareto/NBD: lifetimes has no standard errors; a numerical Hessian of its likelihood at the published fit
    names = ["r", "alpha", "s", "beta"]
    pareto = params[params.model == "pareto_nbd"].set_index("parameter").loc[names]
    covariance = numerical_pareto_covariance(
        pareto.value.to_numpy(), *(summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    )
    np.testing.assert_allclose(pareto.standard_error, np.sqrt(np.diag(covariance)), rtol=1e-3)


def test_a_named_purchase_model_is_used(first_builds):
    """purchase_model: pareto_nbd: customer_clv publishes Pareto/NBD's predictions (lifetimes' formulas with the
    published full fit), and the choice says it was set."""
    result = first_builds["purchase_model_pareto_nbd"]["result"]
    params = result.read("select * from clv_model_parameters where fit = 'full'")
    assert set(params[params.is_selected].model) == {"pareto_nbd"}
    assert set(params.selection_reason.dropna()) == {"purchase_model is set to pareto_nbd"}
    reference = ParetoNBDFitter()
    reference.params_ = pd.Series(
        {row.parameter: row.value for row in params[params.model == "pareto_nbd"].itertuples()}
    )
    reference_build = compute(first_builds["purchase_model_pareto_nbd"]["raw"], Config())
    summary = bgnbd_summary(reference_build["purchases"], reference_build["as_of_date"], 7.0)
    customers = result.table("customer_clv").set_index("customer_id").loc[summary.customer_id]
    f, r, t = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    np.testing.assert_allclose(customers.p_alive, reference.conditional_probability_alive(f, r, t), rtol=1e-9)
    np.testing.assert_allclose(
        customers.expected_purchases_365d,
        reference.conditional_expected_number_of_purchases_up_to_time(365 / 7.0, f, r, t),
        rtol=1e-9,
    )
