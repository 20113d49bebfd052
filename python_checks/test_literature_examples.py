"""Worked examples from the CLV literature, checked against numbers computed by hand."""

import pytest

from python_checks.datasets import write_table
from python_checks.project import build_ok

ORDER_HEADER = ["order_id", "customer_id", "ordered_at", "order_total", "status", "currency"]
CUSTOMER_HEADER = ["customer_id", "created_at", "email", "country", "acquisition_channel"]


def test_inventory_method_gross_margin(tmp_path):
    """Beginning inventory 180,000 + purchases 450,000 - ending 160,000 = COGS 470,000 on revenue 800,000:
    margin 41.25%."""
    orders = [
        [f"O{i}", f"C{i}", f"2025-0{1 + i % 3}-1{i % 9} 12:00:00", "100000.00", "completed", "USD"] for i in range(8)
    ]
    write_table(tmp_path / "raw", "orders", ORDER_HEADER, orders)
    write_table(
        tmp_path / "raw",
        "inventory",
        ["period_start", "period_end", "beginning_inventory", "purchases", "ending_inventory"],
        [["2025-01-01", "2025-03-31", "180000", "450000", "160000"]],
    )
    result = build_ok(
        "build",
        tmp_path,
        {"raw_data_dir": str(tmp_path / "raw"), "margin_method": "inventory", "as_of_date": "2025-03-31"},
    )
    period = result.table("gross_margin_by_period").iloc[0]
    assert period.revenue == pytest.approx(800_000, rel=1e-12)
    assert period.cogs_inventory == pytest.approx(470_000, rel=1e-12)
    assert period.gross_margin_inventory == pytest.approx(0.4125, rel=1e-12)
    business = result.read("select gross_margin from segment_clv where segment_dimension = 'all'").gross_margin.iloc[0]
    assert business == pytest.approx(0.4125, rel=1e-12)


def test_frequent_small_buyer_beats_one_off_larger_buyer(tmp_path):
    """$6 several times a month for two years versus $15 once: the first customer is worth more on every CLV column."""
    orders = []
    for month in range(24):
        year, m = 2024 + month // 12, month % 12 + 1
        for day in (3, 13, 23):
            orders.append(
                [f"A{month:02d}{day}", "ALICE", f"{year}-{m:02d}-{day:02d} 09:00:00", "6.00", "completed", "USD"]
            )
    orders.append(["B1", "BOB", "2025-05-10 09:00:00", "15.00", "completed", "USD"])
    write_table(tmp_path / "raw", "orders", ORDER_HEADER, orders)
    write_table(
        tmp_path / "raw",
        "customers",
        CUSTOMER_HEADER,
        [["ALICE", "2024-01-01", "", "US", "newsletter"], ["BOB", "2025-05-01", "", "US", "display"]],
    )
    result = build_ok("build", tmp_path, {"raw_data_dir": str(tmp_path / "raw"), "as_of_date": "2025-12-31"})
    seg = result.read("select * from segment_clv where segment_dimension = 'acquisition_channel'").set_index(
        "segment_value"
    )
    for column in ["clv_revenue", "clv_margin", "clv_discounted", "annual_margin"]:
        assert seg.loc["newsletter", column] > seg.loc["display", column], column
    cust = result.table("customer_clv").set_index("customer_id")
    for column in ["revenue", "gross_profit"]:
        assert cust.loc["ALICE", column] > cust.loc["BOB", column], column
    assert cust.loc["ALICE", "value_tier"] != "low" and cust.loc["BOB", "value_tier"] == "low"


@pytest.fixture(scope="module")
def worked_segments(tmp_path_factory):
    """Channel a: C1 buys in W0 and twice in W ($100 each), C2 only in W0: retention 1/2, aov 100, frequency 2.
    Channels b and c: one new customer each in W buying $100 once; spend 60 on b, 200 on c."""
    work = tmp_path_factory.mktemp("worked")
    orders = [
        ["1", "C1", "2024-06-01", "100", "completed", "USD"],
        ["2", "C1", "2025-03-01", "100", "completed", "USD"],
        ["3", "C1", "2025-09-01", "100", "completed", "USD"],
        ["4", "C2", "2024-07-01", "100", "completed", "USD"],
        ["5", "C3", "2025-04-01", "100", "completed", "USD"],
        ["6", "C4", "2025-05-01", "100", "completed", "USD"],
    ]
    write_table(work / "raw", "orders", ORDER_HEADER, orders)
    write_table(
        work / "raw",
        "customers",
        CUSTOMER_HEADER,
        [["C1", "", "", "US", "a"], ["C2", "", "", "US", "a"], ["C3", "", "", "US", "b"], ["C4", "", "", "US", "c"]],
    )
    write_table(
        work / "raw",
        "marketing_spend",
        ["spend_date", "channel", "amount", "currency"],
        [["2025-04-01", "b", "60", "USD"], ["2025-05-01", "c", "200", "USD"]],
    )
    vars = {
        "raw_data_dir": str(work / "raw"),
        "as_of_date": "2025-12-31",
        "margin_method": "fixed",
        "default_gross_margin": 0.5,
        "discount_rate": 0.1,
        "clv_horizon_years": 3,
        "segment_dimensions": ["acquisition_channel"],
    }
    result = build_ok("build", work, vars)
    return result.read("select * from segment_clv where segment_dimension = 'acquisition_channel'").set_index(
        "segment_value"
    )


def test_discounted_clv_worked_by_hand(worked_segments):
    a = worked_segments.loc["a"]
    assert a.aov == 100 and a.purchase_frequency == 2 and a.retention_rate == 0.5
    assert a.annual_margin == pytest.approx(100.0, rel=1e-12)  # 100 x 2 x 0.5
    # 100 / 1.1 + 100 x 0.5 / 1.1^2 + 100 x 0.25 / 1.1^3 = 90.909091 + 41.322314 + 18.782870
    assert a.clv_discounted == pytest.approx(151.01427498121712, rel=1e-12)
    assert a.expected_lifetime_years == 2 and a.clv_margin == pytest.approx(200.0)  # 1 / (1 - 0.5) years
    assert a.clv_revenue == pytest.approx(400.0)


def test_cac_below_and_above_ltv(worked_segments):
    b, c = worked_segments.loc["b"], worked_segments.loc["c"]
    # one new customer each, retention imputed from the whole business (1/2): 50/1.1 + 25/1.21 + 12.5/1.331
    expected_clv = 50 / 1.1 + 25 / 1.1**2 + 12.5 / 1.1**3
    assert b.is_retention_imputed and b.clv_discounted == pytest.approx(expected_clv, rel=1e-12)
    assert b.cac == 60 and b.is_cac_below_ltv and b.ltv_cac_health == "marginal"
    assert c.cac == 200 and not c.is_cac_below_ltv and c.ltv_cac_health == "unprofitable"
    assert b.cac_payback_months == pytest.approx(60 / (50 / 12))
    assert worked_segments.loc["a"].cac != worked_segments.loc["a"].cac  # no new customers in a: null (NaN)


def test_lifetime_cap_when_churn_is_zero(tmp_path):
    orders = [["1", "C1", "2024-06-01", "50", "completed", "USD"], ["2", "C1", "2025-06-01", "50", "completed", "USD"]]
    write_table(tmp_path / "raw", "orders", ORDER_HEADER, orders)
    result = build_ok(
        "build", tmp_path, {"raw_data_dir": str(tmp_path / "raw"), "as_of_date": "2025-12-31", "max_lifetime_years": 7}
    )
    row = result.read("select * from segment_clv where segment_dimension = 'all'").iloc[0]
    assert row.churn_rate == 0 and row.is_lifetime_capped and row.expected_lifetime_years == 7
    assert row.clv_margin == pytest.approx(row.annual_margin * 7)
