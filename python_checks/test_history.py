"""The history marts as a consumer reads them: `make build` runs one after another in one folder, with other
as-ofs, a re-run of an as-of, a lost work database and a --full-refresh. The published clv_history,
customer_clv_history and clv_model_parameters_history keep every published as-of (a re-run replaces its
rows), each equal to the pandas reference of that as-of (segment_clv, customer_clv) or to what its run
published (the parameters); the work database holds the last run's as-of only."""

from __future__ import annotations

import functools

import pandas as pd
import pytest

from python_checks.compare import assert_matches
from python_checks.project import HISTORY_MART_KEYS, SEEDS, make_build
from python_checks.reference import Config, compute

# one folder, four runs of the README's command (vars, extra dbt options, whether the work database is lost first)
RUNS = [
    ("first", {"as_of_date": "2025-11-30"}, None, False),
    ("again", {"as_of_date": "2025-11-30", "discount_rate": 0.2}, None, False),
    ("lost_work_database", {"as_of_period": "week"}, None, True),
    ("full_refresh", {"as_of_date": "2025-10-31"}, "--full-refresh", False),
]
HEADLINE = [
    "customers",
    "active_customers",
    "orders",
    "revenue",
    "aov",
    "purchase_frequency",
    "gross_margin",
    "retention_rate",
    "churn_rate",
    "expected_lifetime_years",
    "clv_revenue",
    "clv_margin",
    "clv_discounted",
    "new_customers",
    "acquisition_spend",
    "cac",
    "ltv_to_cac_ratio",
    "ltv_cac_health",
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("history")
    published = {}
    for name, vars, dbt_args, lose_work in RUNS:
        if lose_work:
            (folder / "clv.duckdb").unlink()
        result = make_build(folder, vars, dbt_args)
        assert result.returncode == 0, result.output[-6000:]
        assert "WARN=0 ERROR=0 SKIP=0" in result.output, result.output[-3000:]
        published[name] = {
            "result": result,
            "vars": vars,
            "run_id": result.read("select run_id from clv_publish_log order by published_at desc limit 1").run_id[0],
            "parameters": result.table("clv_model_parameters"),
        }
    return folder, published


@functools.cache
def _reference(settings: tuple) -> dict:
    return compute(SEEDS, Config(**dict(settings)))


def reference(vars: dict) -> dict:
    """The pandas reference of the demo data under a run's vars (computed once per vars)."""
    return _reference(tuple(sorted((key, value) for key, value in vars.items() if key in Config.__dataclass_fields__)))


def test_clv_history_keeps_every_published_as_of_each_equal_to_the_reference(runs):
    _, published = runs
    last = published["full_refresh"]["result"]
    history = last.table("clv_history")
    expected_runs = {name: run for name, run in published.items() if name != "first"}  # "again" replaced "first"
    expected = {reference(run["vars"])["as_of_date"].date(): (name, run) for name, run in expected_runs.items()}
    assert sorted(expected) == [pd.Timestamp(d).date() for d in ("2025-10-31", "2025-11-30", "2025-12-28")]
    assert sorted(set(history.as_of_date.dt.date)) == sorted(expected)
    for as_of, (name, run) in expected.items():
        rows = history[history.as_of_date.dt.date == as_of].drop(columns="as_of_date")
        segments = reference(run["vars"])["segment_clv"]
        keys = ["segment_dimension", "segment_value"]
        assert_matches(rows, segments, keys, HEADLINE, label=f"clv_history {as_of} ({name})")
        assert set(rows.run_id) == {run["run_id"]}, name
    # the re-run of 2025-11-30 replaced its rows: the higher discount rate's lower discounted CLV
    first = reference(published["first"]["vars"])["segment_clv"]
    business = history[(history.as_of_date == pd.Timestamp("2025-11-30")) & (history.segment_dimension == "all")]
    assert len(business) == 1
    assert business.clv_discounted.iloc[0] < first[first.segment_dimension == "all"].clv_discounted.iloc[0]


def test_customer_clv_history_snapshots_month_ends_only(runs):
    _, published = runs
    history = published["full_refresh"]["result"].table("customer_clv_history")
    # 2025-12-28 (as_of_period week) is no month end: that run added no snapshot
    assert sorted(set(history.as_of_date.dt.date)) == [pd.Timestamp(d).date() for d in ("2025-10-31", "2025-11-30")]
    for name in ("again", "full_refresh"):
        run = published[name]
        expected = reference(run["vars"])["customer_clv"]
        as_of = pd.Timestamp(run["vars"]["as_of_date"])
        rows = history[history.as_of_date == as_of].drop(columns="as_of_date")
        columns = ["acquisition_channel", "purchases", "revenue", "recency_days", "rfm_segment", "value_tier"]
        assert_matches(rows, expected, ["customer_id"], columns + ["is_overdue"], label=f"customer_clv_history {name}")
        assert set(rows.run_id) == {run["run_id"]}
        assert rows.p_alive.between(0, 1).all()  # the predictive branch's P(alive) (checked in test_predictive)


def test_model_parameters_history_is_what_each_run_published(runs):
    _, published = runs
    history = published["full_refresh"]["result"].table("clv_model_parameters_history")
    keys = HISTORY_MART_KEYS["clv_model_parameters_history"][1:]
    for name in ("again", "lost_work_database", "full_refresh"):
        run = published[name]
        as_of = run["parameters"].as_of_date[0]
        rows = history[history.as_of_date == as_of].drop(columns="as_of_date")
        columns = ["value", "standard_error", "log_likelihood", "customers_used", "is_converged", "is_selected"]
        assert_matches(rows, run["parameters"], keys, columns, label=f"clv_model_parameters_history {name}", rtol=0)
        assert set(rows.run_id) == {run["run_id"]}
    assert len(set(history.as_of_date)) == 3


def test_the_work_database_holds_the_last_as_of_only(runs):
    """The history is kept on the published side: the work database's history marts hold this run's as-of."""
    folder, _ = runs
    import duckdb

    with duckdb.connect(str(folder / "clv.duckdb"), read_only=True) as connection:
        for mart in HISTORY_MART_KEYS:
            dates = connection.execute(f"select distinct as_of_date from main.{mart}").fetchall()
            assert dates == [(pd.Timestamp("2025-10-31").date(),)], mart
