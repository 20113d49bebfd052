"""Bad configuration stops the build with a message naming the var and what it accepts."""

import pytest

from python_checks.project import run_dbt

INVALID = [
    ("discount_rate", 1.5),
    ("discount_rate", "ten percent"),
    ("time_unit", "month"),
    ("as_of_period", "quarter"),
    ("refit_growth", 0),
    ("purchase_model", "pareto"),
    ("as_of_date", "2025-02-30"),
    ("as_of_date", "yesterday"),
    ("observation_window_months", 0),
    ("margin_method", "average"),
    ("segment_dimensions", ["email"]),
    ("segment_dimensions", ["Loyalty Tier"]),
    ("segment_dimensions", ["revenue"]),
    ("raw_file_encoding", "ebcdic"),
    ("max_plausible_amount", 0),
    ("max_quarantined_share", 1.5),
    ("default_gross_margin", 1.2),
    ("max_lifetime_years", 0),
    ("clv_horizon_years", 2.5),
    ("overdue_factor", -1),
    ("reporting_currency", "dollars"),
    ("holdout_months", "six"),
    ("enable_predictive", "maybe"),
    ("incremental_lookback_days", -1),
    ("raw_identifiers", {"sales": "shop_sales"}),
    ("raw_identifiers", {"orders": "shop orders; drop table x"}),
    ("raw_models", "shop_orders"),
]


@pytest.mark.parametrize("name,value", INVALID, ids=[f"{n}={v}" for n, v in INVALID])
def test_invalid_var_stops_the_build_naming_the_var(tmp_path, name, value):
    result = run_dbt("build", tmp_path, {name: value})
    assert result.returncode != 0
    assert f"Invalid value for var '{name}'" in result.output
    assert "Accepted values:" in result.output


def test_renamed_files_are_read_through_raw_identifiers(tmp_path):
    """A folder whose files carry the shop's own names (shop_orders.csv): raw_identifiers maps the contract's
    tables to them, and the build reads them (and says which file it wanted when one is missing)."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "shop_orders.csv").write_text("order_total,ordered_at,customer_id,order_id\n40.00,2025-01-15,alice,1001\n")
    (raw / "shop_customers.csv").write_text("customer_id,acquisition_channel\nalice,referral\n")
    names = {"orders": "shop_orders", "customers": "shop_customers"}
    result = run_dbt("build", tmp_path, {"raw_data_dir": str(raw), "raw_identifiers": names})
    assert result.returncode == 0, result.output[-3000:]
    assert "WARN=0 ERROR=0 SKIP=0" in result.output
    row = result.read(
        "select customers, revenue from segment_clv where segment_dimension = 'acquisition_channel'"
        " and segment_value = 'referral'"
    ).iloc[0]
    assert (row.customers, float(row.revenue)) == (1, 40.0)
    (raw / "shop_orders.csv").unlink()
    missing = run_dbt("build", tmp_path, {"raw_data_dir": str(raw), "raw_identifiers": names})
    assert missing.returncode != 0 and "has no orders file with content (shop_orders.csv" in missing.output


def test_folder_without_orders_is_refused(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "customers.csv").write_text("customer_id\nC1\n")
    result = run_dbt("build", tmp_path, {"raw_data_dir": str(tmp_path / "raw")})
    assert result.returncode != 0
    assert "raw_data_dir" in result.output and "orders.csv" in result.output


def test_orders_without_a_required_column_is_refused(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "raw" / "orders.csv").write_text("order_id,customer_id,ordered_at\nO1,C1,2025-01-01\n")
    result = run_dbt("build", tmp_path, {"raw_data_dir": str(tmp_path / "raw")})
    assert result.returncode != 0
    assert "lacks the required column(s) order_total" in result.output


def test_folder_with_two_layouts_of_a_table_is_refused(tmp_path):
    raw = tmp_path / "raw"
    (raw / "orders").mkdir(parents=True)
    (raw / "orders.csv").write_text("order_id,customer_id,ordered_at,order_total\nO1,C1,2025-01-01,10\n")
    (raw / "orders" / "day-1.csv").write_text("order_id,customer_id,ordered_at,order_total\nO2,C1,2025-01-02,10\n")
    result = run_dbt("build", tmp_path, {"raw_data_dir": str(raw)})
    assert result.returncode != 0
    assert "holds more than one of orders.csv, orders.parquet and the folder orders/" in result.output
