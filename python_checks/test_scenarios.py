"""The marts equal the reference on raw folders that stress the fallbacks and the windows."""

import pytest

from python_checks import datasets
from python_checks.compare import assert_matches
from python_checks.project import MART_KEYS, PREDICTIVE, build_ok
from python_checks.reference import Config, compute

SCENARIOS = {
    # name: (folder builder, vars)
    "only_orders": (datasets.only_orders, {}),
    "no_spend_data": (
        lambda d: datasets.demo_copy(
            d, ["orders", "order_items", "product_costs", "refunds", "customers", "fx_rates", "inventory"]
        ),
        {},
    ),
    "one_currency": (datasets.one_currency, {}),
    "single_purchase_customers": (datasets.single_purchase, {}),
    "zero_churn": (datasets.monthly_buyers, {"as_of_date": "2025-12-31"}),
    "segment_without_prior_window": (datasets.new_channel, {}),
    "as_of_mid_data": (datasets.demo_copy, {"as_of_date": "2024-06-30"}),
    "six_month_window": (datasets.demo_copy, {"observation_window_months": 6}),
    "inventory_margin_method": (
        datasets.demo_copy,
        {"margin_method": "inventory", "discount_rate": 0.07, "clv_horizon_years": 5},
    ),
}


@pytest.fixture(scope="module", params=list(SCENARIOS))
def scenario(request, tmp_path_factory):
    name = request.param
    builder, vars = SCENARIOS[name]
    work = tmp_path_factory.mktemp(name)
    raw = builder(work / "raw")
    result = build_ok("build", work, {"raw_data_dir": str(raw), **vars})
    cfg = Config(**dict(vars.items()))
    return name, result, compute(raw, cfg)


def test_scenario_marts_match_reference(scenario):
    name, result, expected = scenario
    for mart, keys in MART_KEYS.items():
        actual = result.table(mart)
        columns = [c for c in actual.columns if c not in keys and not c.startswith(PREDICTIVE)]
        assert_matches(actual, expected[mart], keys, columns, label=f"{name}/{mart}")
    recon = result.table("data_quality_reconciliation")
    assert recon.is_reconciled.all()


def test_scenario_fallbacks_are_visible(scenario):
    name, result, _ = scenario
    segments = result.table("segment_clv").set_index(["segment_dimension", "segment_value"])
    if name == "only_orders":
        assert set(segments.loc["acquisition_channel"].index) == {"unknown"}
        assert segments.cac.isna().all() and (segments.ltv_cac_health == "unknown").all()
        assert (segments.gross_margin.round(12) == 0.4).all()  # default gross margin: no items
        assert len(result.table("gross_margin_by_period")) == 0
    if name == "no_spend_data":
        assert segments.acquisition_spend.isna().all()
    if name == "zero_churn":
        assert (segments.retention_rate == 1).all() and segments.is_lifetime_capped.all()
        assert (segments.expected_lifetime_years == 10).all()
    if name == "segment_without_prior_window":
        podcast = segments.loc[("acquisition_channel", "podcast")]
        assert podcast.prior_window_customers == 0 and podcast.is_retention_imputed
        assert podcast.retention_rate == segments.loc[("all", "all")].retention_rate
    if name == "single_purchase_customers":
        assert (result.table("customer_clv").purchases == 1).all()
