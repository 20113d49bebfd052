"""The semantic layer as a consumer uses it: `make build` publishes, then `make metrics QUERY=...` (MetricFlow's
`mf query` on the published database, read-only) answers every metric, grouped by its main dimension, with
the numbers of the pandas reference; and it answers while a build runs and while another reader holds the
published file."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import duckdb
import pandas as pd
import pytest

from python_checks.compare import assert_matches
from python_checks.project import PROJECT, dbt_ls, make_build, make_env

CHANNEL = "{{ Dimension('segment__segment_dimension') }} = 'acquisition_channel'"


def metrics(folder, query: str) -> pd.DataFrame:
    """`make metrics QUERY='...'`: the answer, read from the CSV file mf writes."""
    out = folder / f"answer_{abs(hash(query))}.csv"
    completed = subprocess.run(
        ["make", "-s", "metrics", f"QUERY={query} --csv {out}"],
        cwd=PROJECT,
        env=make_env(folder),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0 and out.exists(), (completed.stdout + completed.stderr)[-4000:]
    return pd.read_csv(out)


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    folder = tmp_path_factory.mktemp("metrics")
    result = make_build(folder)
    assert result.returncode == 0, result.output[-6000:]
    return folder


def test_the_semantic_layer_validates_against_the_published_data(published):
    completed = subprocess.run(
        ["make", "-s", "metrics-validate"], cwd=PROJECT, env=make_env(published), capture_output=True, text=True
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-4000:]
    assert "ERRORS: 0" in output and "Breaking issues" not in output


def test_customer_metrics_by_channel_equal_the_reference(published, demo_reference):
    answer = metrics(
        published,
        "--metrics customers,purchases,revenue,historical_clv,aov --group-by customer__acquisition_channel",
    )
    customers = demo_reference["customer_clv"]
    expected = customers.groupby("acquisition_channel").agg(
        customers=("customer_id", "nunique"),
        purchases=("purchases", "sum"),
        revenue=("revenue", "sum"),
        historical_clv=("gross_profit", "sum"),
    )
    expected["aov"] = expected.revenue / expected.purchases
    expected = expected.reset_index().rename(columns={"acquisition_channel": "customer__acquisition_channel"})
    assert_matches(answer, expected, ["customer__acquisition_channel"], label="customer metrics")


def test_overdue_customers_by_value_tier_equal_the_reference(published, demo_reference):
    answer = metrics(published, "--metrics overdue_customers --group-by customer__value_tier")
    customers = demo_reference["customer_clv"]
    expected = customers.groupby("value_tier").is_overdue.sum().rename("overdue_customers").reset_index()
    expected = expected.rename(columns={"value_tier": "customer__value_tier"})
    assert_matches(answer, expected, ["customer__value_tier"], label="overdue customers")


def test_acquisition_metrics_by_channel_equal_the_reference(published, demo_reference):
    answer = metrics(
        published, "--metrics acquisition_spend,new_customers,cac --group-by acquisition__acquisition_channel"
    )
    monthly = demo_reference["acquisition_cac"]
    # a channel without any spend (unknown) has none: null, as SQL's sum of nulls, so its CAC is null too
    expected = monthly.groupby("acquisition_channel").agg(
        acquisition_spend=("acquisition_spend", lambda spend: spend.sum(min_count=1)),
        new_customers=("new_customers", "sum"),
    )
    expected["cac"] = expected.acquisition_spend / expected.new_customers.where(expected.new_customers > 0)
    expected = expected.reset_index().rename(columns={"acquisition_channel": "acquisition__acquisition_channel"})
    assert_matches(answer, expected, ["acquisition__acquisition_channel"], label="acquisition metrics")


def test_segment_clv_metrics_by_channel_equal_the_reference(published, demo_reference):
    answer = metrics(
        published,
        "--metrics clv_revenue,clv_margin,clv_discounted,segment_cac,ltv_to_cac,clv_net_of_cac"
        f' --group-by segment__segment_value --where "{CHANNEL}"',
    )
    segments = demo_reference["segment_clv"]
    segments = segments[segments.segment_dimension == "acquisition_channel"]
    expected = pd.DataFrame(
        {
            "segment__segment_value": segments.segment_value,
            "clv_revenue": segments.clv_revenue,
            "clv_margin": segments.clv_margin,
            "clv_discounted": segments.clv_discounted,
            "segment_cac": segments.cac,
            # MetricFlow's ratio is null where the denominator is 0 or null, like the mart's
            "ltv_to_cac": segments.clv_discounted / segments.cac.where(segments.cac != 0),
            "clv_net_of_cac": segments.clv_discounted - segments.cac,
        }
    )
    assert_matches(answer, expected, ["segment__segment_value"], label="segment metrics")


def test_cohort_metrics_by_month_since_first_purchase_equal_the_reference(published, demo_reference):
    answer = metrics(
        published,
        "--metrics cohort_active_customers,cohort_customers,retention_rate"
        " --group-by cohort__months_since_first_purchase",
    )
    cohorts = demo_reference["cohort_retention"]
    expected = cohorts.groupby("months_since_first_purchase").agg(
        cohort_active_customers=("active_customers", "sum"), cohort_customers=("cohort_customers", "sum")
    )
    expected["retention_rate"] = expected.cohort_active_customers / expected.cohort_customers
    expected = expected.reset_index().rename(
        columns={"months_since_first_purchase": "cohort__months_since_first_purchase"}
    )
    assert_matches(answer, expected, ["cohort__months_since_first_purchase"], label="cohort metrics")


def test_customers_acquired_to_date_is_the_running_sum_of_new_customers(published, demo_reference):
    answer = metrics(published, "--metrics cumulative_new_customers --group-by metric_time__month")
    monthly = demo_reference["acquisition_cac"].groupby("month_start").new_customers.sum().sort_index()
    running = monthly.cumsum()
    answer["metric_time__month"] = pd.to_datetime(answer.metric_time__month)
    answer = answer.set_index("metric_time__month").cumulative_new_customers
    # every month with acquisitions carries the running total up to it
    for month, total in running.items():
        assert answer.loc[pd.Timestamp(month)] == total, month


HOLD_OPEN = textwrap.dedent(
    """
    import sys, time, duckdb
    connection = duckdb.connect(sys.argv[1], read_only=True)
    connection.execute("select count(*) from segment_clv").fetchone()
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
    """
)


def test_metrics_answer_while_a_build_runs_and_a_reader_holds_the_file(published):
    reader = subprocess.Popen(
        [sys.executable, "-c", HOLD_OPEN, str(published / "published" / "clv.duckdb"), "120"],
        stdout=subprocess.PIPE,
        text=True,
    )
    build = subprocess.Popen(
        ["make", "-s", "build"],
        cwd=PROJECT,
        env=make_env(published),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "holding"
        for line in build.stdout:
            if "START sql table model" in line:  # the build is writing the work database now
                break
        answer = metrics(published, "--metrics clv_discounted,segment_cac --group-by segment__segment_value")
        assert len(answer) > 0
        assert build.poll() is None, "the build ended before the query: nothing was shown"
        remaining = build.stdout.read()
        assert build.wait() == 0, remaining[-4000:]
    finally:
        reader.kill()
        build.kill()


def test_the_metrics_exposure_lists_the_marts_and_metrics_it_reads(tmp_path):
    listed = dbt_ls("+exposure:clv_metrics", tmp_path)
    for mart in ["customer_clv", "segment_clv", "acquisition_cac", "cohort_retention", "metricflow_time_spine"]:
        assert f"clv.marts.{mart}" in listed
    for metric in ["cac", "clv_discounted", "ltv_to_cac", "retention_rate", "new_customers", "segment_cac"]:
        assert f"metric:clv.{metric}" in listed  # new_customers and segment_cac through cac and ltv_to_cac


def test_predicted_clv_by_channel_sums_the_published_predictions(published):
    """The predictions themselves are checked against lifetimes in test_predictive.py; here the metric must
    add up the published per-customer predictions (nulls where a customer has none)."""
    answer = metrics(published, "--metrics predicted_clv --group-by customer__acquisition_channel")
    with duckdb.connect(str(published / "published" / "clv.duckdb"), read_only=True) as connection:
        expected = connection.execute(
            "select acquisition_channel as customer__acquisition_channel, sum(predicted_clv) as predicted_clv"
            " from customer_clv group by 1"
        ).df()
    assert expected.predicted_clv.notna().all()
    assert_matches(answer, expected, ["customer__acquisition_channel"], label="predicted clv")
