"""The CLV report: one self-contained HTML file (plotly.js and the data inline; no network when it is
viewed), read from the published database, read-only.

    python -m scripts.report [--out published/clv_report.html]     # `make report`

Every section has a one-line reading guide and a link to its definition in docs/definitions.md. The
headline numbers carry data-metric attributes (what the checks compare with the marts). No personal
data: the report aggregates; no customer id or email is written.
"""

from __future__ import annotations

import argparse
import html
import os
import sys
from pathlib import Path

import duckdb
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

ROOT = Path(__file__).resolve().parents[1]
DEFINITIONS = ROOT / "docs" / "definitions.md"
HEALTH_COLOURS = {"healthy": "#2a9d8f", "marginal": "#e9c46a", "unprofitable": "#e76f51", "unknown": "#8d99ae"}


def published_path() -> Path:
    path = Path(os.environ.get("CLV_PUBLISHED_DUCKDB_PATH", "published/clv.duckdb"))
    return path if path.is_absolute() else ROOT / path


class Report:
    def __init__(self, connection: duckdb.DuckDBPyConnection):
        self.connection = connection
        self.sections: list[str] = []
        self.figures = 0

    def frame(self, sql: str) -> pd.DataFrame:
        return self.connection.execute(sql).df()

    def figure_html(self, figure: go.Figure) -> str:
        figure.update_layout(margin={"l": 40, "r": 20, "t": 40, "b": 40}, height=380, template="plotly_white")
        first = self.figures == 0
        self.figures += 1
        return figure.to_html(
            full_html=False,
            include_plotlyjs=first,
            config={"responsive": True, "displaylogo": False},
        )

    def section(self, title: str, guide: str, definition: str, body: str) -> None:
        link = f"{DEFINITIONS.as_uri()}#{definition.lower().replace(' ', '-')}"
        self.sections.append(
            f'<section data-section="{html.escape(title)}"><h2>{html.escape(title)}</h2>'
            f'<p class="guide">{html.escape(guide)} <a href="{link}">Definition: "{html.escape(definition)}"</a></p>'
            f"{body}</section>"
        )


def money(value) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{value:,.2f}"


def headline(report: Report) -> None:
    business = report.frame("select * from segment_clv where segment_dimension = 'all'").iloc[0]
    log = report.frame("select published_at, tests_passed, run_id from clv_publish_log order by published_at desc")
    numbers = {
        "clv_revenue": business.clv_revenue,
        "clv_margin": business.clv_margin,
        "clv_discounted": business.clv_discounted,
        "cac": business.cac,
        "ltv_to_cac_ratio": business.ltv_to_cac_ratio,
    }
    cards = "".join(
        f'<div class="card"><div class="label">{name}</div>'
        f'<div class="value" data-metric="{name}" data-value="{"" if pd.isna(value) else repr(float(value))}">'
        f"{money(value)}</div></div>"
        for name, value in numbers.items()
    )
    freshness = (
        f"published {log.published_at.iloc[0]:%Y-%m-%d %H:%M} UTC after {int(log.tests_passed.iloc[0])} passing tests"
        if len(log)
        else "not published through make build (no publish log row)"
    )
    body = (
        f'<div class="cards">{cards}<div class="card"><div class="label">health</div>'
        f'<div class="value" data-metric="ltv_cac_health">{html.escape(str(business.ltv_cac_health))}</div></div></div>'
        f'<p>As of <strong data-metric="as_of_date">{business.as_of_date:%Y-%m-%d}</strong>; {freshness}.</p>'
    )
    report.section(
        "Headline",
        "What one customer is worth to the whole business: CLV in revenue, margin and discounted (NPV), "
        "against what acquiring one costs.",
        "Segment CLV",
        body,
    )


def segments_vs_cac(report: Report) -> None:
    channels = report.frame(
        "select segment_value as channel, clv_discounted, cac, ltv_cac_health, predicted_ltv_per_new_customer,"
        " predicted_ltv_per_new_customer_lower_90, predicted_ltv_per_new_customer_upper_90, predicted_ltv_cac_health"
        " from segment_clv where segment_dimension = 'acquisition_channel' order by clv_discounted desc"
    )
    figure = go.Figure()
    figure.add_bar(
        x=channels.channel,
        y=channels.clv_discounted,
        name="discounted CLV (heuristic)",
        marker_color=[HEALTH_COLOURS.get(health, "#8d99ae") for health in channels.ltv_cac_health],
    )
    if channels.predicted_ltv_per_new_customer.notna().any():
        figure.add_bar(
            x=channels.channel,
            y=channels.predicted_ltv_per_new_customer,
            name="predicted LTV of a new customer (predictive model, 90% interval)",
            marker_color=[HEALTH_COLOURS.get(health, "#8d99ae") for health in channels.predicted_ltv_cac_health],
            marker_pattern_shape="/",
            error_y={
                "type": "data",
                "symmetric": False,
                "array": channels.predicted_ltv_per_new_customer_upper_90 - channels.predicted_ltv_per_new_customer,
                "arrayminus": channels.predicted_ltv_per_new_customer
                - channels.predicted_ltv_per_new_customer_lower_90,
            },
        )
    figure.add_scatter(
        x=channels.channel,
        y=channels.cac,
        mode="markers",
        name="CAC",
        marker={"symbol": "line-ew", "size": 46, "line": {"width": 4, "color": "#222222"}},
    )
    figure.update_layout(
        title="CLV (bars, coloured by LTV/CAC health) and CAC (marks) by acquisition channel", barmode="group"
    )
    report.section(
        "Segment CLV vs CAC",
        "A channel pays back where its bars rise above its CAC mark; green is at least 3x. Plain bars are the "
        "heuristic's discounted CLV, hatched ones what the predictive model (the selected purchase model with "
        "Gamma-Gamma) predicts a customer acquired in the window is worth.",
        "Segment CLV",
        report.figure_html(figure),
    )


def value_tiers(report: Report) -> None:
    tiers = report.frame("select value_tier, share_of_customers, share_of_revenue from value_tiers order by tier_rank")
    ranked = report.frame("select revenue from customer_clv order by revenue desc").revenue.clip(lower=0)
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Share of customers vs revenue", "Pareto curve"))
    figure.add_bar(x=tiers.value_tier, y=tiers.share_of_customers, name="customers", row=1, col=1)
    figure.add_bar(x=tiers.value_tier, y=tiers.share_of_revenue, name="revenue", row=1, col=1)
    if len(ranked) and ranked.sum() > 0:
        customers_share = (pd.Series(range(1, len(ranked) + 1)) / len(ranked)).to_numpy()
        figure.add_scatter(
            x=customers_share, y=(ranked.cumsum() / ranked.sum()).to_numpy(), name="cumulative revenue", row=1, col=2
        )
    report.section(
        "Value tiers",
        "How much of the revenue the top 5% (vip) and the next tiers bring, and the whole curve.",
        "Customer-level CLV",
        report.figure_html(figure),
    )


def cohorts(report: Report) -> None:
    table = report.frame("select * from cohort_retention order by cohort_month, months_since_first_purchase")
    if table.empty:
        report.section("Cohorts", "No cohort yet.", "Segment CLV", "<p>No purchase on or before the as-of date.</p>")
        return
    heat = table.pivot(index="cohort_month", columns="months_since_first_purchase", values="retention_rate")
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Retention by cohort", "Cumulative revenue per customer"))
    figure.add_heatmap(
        z=heat.to_numpy(), x=list(heat.columns), y=[f"{m:%Y-%m}" for m in heat.index], colorscale="Blues", row=1, col=1
    )
    for cohort, rows in table.groupby("cohort_month"):
        figure.add_scatter(
            x=rows.months_since_first_purchase,
            y=rows.cumulative_revenue_per_customer,
            mode="lines",
            name=f"{cohort:%Y-%m}",
            showlegend=False,
            row=1,
            col=2,
        )
    report.section(
        "Cohorts",
        "Each row is the customers who first bought in a month: the share still buying k months later, "
        "and what each has spent so far.",
        "Segment CLV",
        report.figure_html(figure),
    )


def rfm_grid(report: Report) -> None:
    grid = report.frame(
        "select r_score, f_score, count(*) as customers, sum(revenue) as revenue from customer_clv group by all"
    )
    counts = grid.pivot(index="r_score", columns="f_score", values="customers").sort_index()
    revenue = grid.pivot(index="r_score", columns="f_score", values="revenue").sort_index()
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Customers per R x F cell", "Revenue per cell"))
    figure.add_heatmap(
        z=counts.to_numpy(), x=list(counts.columns), y=list(counts.index), colorscale="Greens", row=1, col=1
    )
    figure.add_heatmap(
        z=revenue.to_numpy(), x=list(revenue.columns), y=list(revenue.index), colorscale="Oranges", row=1, col=2
    )
    figure.update_xaxes(title_text="frequency score")
    figure.update_yaxes(title_text="recency score")
    report.section(
        "RFM grid",
        "Recent and frequent customers sit top right; large cells at low recency are at risk.",
        "Customer-level CLV",
        report.figure_html(figure),
    )


def churn_risk(report: Report) -> None:
    overdue = report.frame(
        "select customers.value_tier, sum(case when customers.is_overdue then 1 else 0 end) as overdue"
        " from customer_clv as customers inner join value_tiers as tiers on customers.value_tier = tiers.value_tier"
        " group by customers.value_tier, tiers.tier_rank order by tiers.tier_rank"
    )
    alive = report.frame("select p_alive from customer_clv where p_alive is not null").p_alive
    figure = make_subplots(rows=1, cols=2, subplot_titles=("Overdue customers by tier", "P(alive) distribution"))
    figure.add_bar(x=overdue.value_tier, y=overdue.overdue, name="overdue", row=1, col=1)
    if len(alive):
        figure.add_histogram(x=alive, nbinsx=20, name="P(alive)", row=1, col=2)
    report.section(
        "Churn risk",
        "Customers past their usual gap (overdue), and how likely the predictive model thinks customers are "
        "still active.",
        "Customer-level CLV",
        report.figure_html(figure),
    )


def predictive(report: Report) -> None:
    exists = report.frame("select count(*) as n from duckdb_tables() where table_name = 'clv_backtest'").n.iloc[0]
    if not exists:
        report.section(
            "Predictive diagnostics",
            "The predictive models are off for this build (enable_predictive).",
            "Predictive CLV",
            "<p>Not built.</p>",
        )
        return
    backtest = report.frame("select model, metric, value from clv_backtest")
    wide = backtest.pivot(index="model", columns="metric", values="value")
    totals = make_subplots(rows=1, cols=2, subplot_titles=("Backtest: holdout purchases", "Backtest: holdout revenue"))
    for column, colour in (("actual", "#264653"), ("predicted", "#2a9d8f")):
        for col, measure in ((1, "purchases"), (2, "revenue")):
            totals.add_bar(
                x=list(wide.index),
                y=wide[f"{column}_{measure}"],
                name=column,
                marker_color=colour,
                legendgroup=column,
                showlegend=col == 1,
                row=1,
                col=col,
            )
    calibration = report.frame(
        "select model, calibration_frequency, is_top_frequency, customers, actual_purchases_per_customer,"
        " predicted_purchases_per_customer from clv_calibration_holdout order by model, calibration_frequency"
    )
    by_frequency = go.Figure()
    actual = calibration[calibration.model == calibration.model.min()]
    labels = [
        f"{f}+" if top else str(f) for f, top in zip(actual.calibration_frequency, actual.is_top_frequency, strict=True)
    ]
    by_frequency.add_scatter(
        x=labels, y=actual.actual_purchases_per_customer, name="actual", mode="lines+markers", line_color="#264653"
    )
    for model, rows in calibration.groupby("model"):
        by_frequency.add_scatter(
            x=labels,
            y=rows.predicted_purchases_per_customer,
            name=f"predicted: {model}",
            mode="lines+markers",
            line_dash="dash",
            customdata=rows.customers,
            hovertemplate="%{y:.3f} purchases per customer (%{customdata} customers)",
        )
    by_frequency.update_layout(
        title="Calibration vs holdout: mean holdout purchases by repeat purchases before it",
        xaxis_title="repeat purchases in the calibration period",
        yaxis_title="holdout purchases per customer",
    )
    choice = report.frame(
        "select model, max(log_likelihood) as log_likelihood, max(aic) as aic, max(bic) as bic,"
        " max(holdout_relative_error) as holdout_relative_error, bool_or(is_selected) as is_selected,"
        " max(selection_reason) as selection_reason from clv_model_parameters"
        " where fit = 'calibration' and model <> 'gamma_gamma' group by model order by model"
    )
    selected = choice[choice.is_selected]
    chosen = selected.model.iloc[0] if len(selected) else "bg_nbd"
    reason = selected.selection_reason.iloc[0] if len(selected) else ""
    models = go.Figure(
        go.Bar(
            x=list(choice.model),
            y=100 * choice.holdout_relative_error,
            marker_color=["#2a9d8f" if picked else "#8d99ae" for picked in choice.is_selected],
            customdata=choice[["aic", "bic"]].to_numpy(),
            hovertemplate="holdout error %{y:.1f}%<br>AIC %{customdata[0]:,.1f}<br>BIC %{customdata[1]:,.1f}"
            "<extra></extra>",
        )
    )
    models.update_layout(
        title=f"Model choice: holdout error of each purchase model (calibration fit); predictions use {chosen}",
        yaxis_title="predicted / actual holdout purchases - 1 (%)",
    )
    matrix = report.frame(
        "select frequency, recency_step, recency, p_alive, customers, time_unit, customer_age"
        f" from clv_frequency_recency where model = '{chosen}' order by frequency, recency_step"
    )
    p_alive = matrix.pivot(index="frequency", columns="recency_step", values="p_alive").sort_index()
    customers = matrix.pivot(index="frequency", columns="recency_step", values="customers").sort_index()
    recency = matrix.groupby("recency_step").recency.first().reindex(p_alive.columns)
    unit = matrix.time_unit.iloc[0] if len(matrix) else "week"
    heatmap = go.Figure(
        go.Heatmap(
            z=p_alive.to_numpy(),
            x=[f"{value:.0f}" for value in recency],
            y=list(p_alive.index),
            customdata=customers.to_numpy(),
            colorscale="RdYlGn",
            zmin=0,
            zmax=1,
            colorbar_title="P(alive)",
            hovertemplate="P(alive) %{z:.2f}<br>%{customdata} customers in the cell<extra></extra>",
        )
    )
    age = matrix.customer_age.iloc[0] if len(matrix) else 0
    heatmap.update_layout(
        title=f"P(alive) by frequency and recency, for a customer {age:.0f} {unit}s old ({chosen})",
        xaxis_title=f"recency: age at the last purchase ({unit}s)",
        yaxis_title="repeat purchases",
    )
    tracking_rows = report.frame(
        "select model, period_end, is_holdout, actual_repeat_purchases, expected_repeat_purchases,"
        " holdout_start_date, as_of_date from clv_period_transactions order by model, period_end"
    )
    tracking = go.Figure()
    actual_rows = tracking_rows[tracking_rows.model == chosen]
    tracking.add_scatter(
        x=actual_rows.period_end, y=actual_rows.actual_repeat_purchases, name="actual", line_color="#264653"
    )
    for model, rows in tracking_rows.groupby("model"):
        tracking.add_scatter(
            x=rows.period_end,
            y=rows.expected_repeat_purchases,
            name=f"expected: {model}",
            line_dash="dash",
            line_width=3 if model == chosen else 1.5,
        )
    if len(tracking_rows):
        tracking.add_vrect(
            x0=tracking_rows.holdout_start_date.iloc[0],
            x1=tracking_rows.as_of_date.iloc[0],
            fillcolor="#8d99ae",
            opacity=0.15,
            line_width=0,
            annotation_text="holdout",
        )
    tracking.update_layout(
        title="Tracking: repeat purchases per month of the calibration customers, actual vs expected",
        yaxis_title="repeat purchases",
    )
    report.section(
        "Predictive diagnostics",
        "Fitted on the calibration period, compared with what the holdout brought: the predicted line should "
        "follow the actual one at every frequency and month, also in the holdout. In the matrix, red customers "
        f"are likely gone. Predictions use {chosen}: {reason}.",
        "Predictive CLV",
        report.figure_html(models)
        + report.figure_html(totals)
        + report.figure_html(by_frequency)
        + report.figure_html(tracking)
        + report.figure_html(heatmap),
    )


def data_quality(report: Report) -> None:
    quarantine = report.frame(
        "select source_table, quarantine_reason, count(*) as rows from data_quality_quarantine group by all"
    )
    reconciliation = report.frame(
        "select source_table, raw_rows, clean_rows, quarantined_rows from data_quality_reconciliation"
    )
    figure = go.Figure()
    for reason, rows in quarantine.groupby("quarantine_reason"):
        figure.add_bar(x=rows.source_table, y=rows.rows, name=reason)
    figure.update_layout(barmode="stack", title="Quarantined rows by table and reason")
    table = reconciliation.to_html(index=False, classes="reconciliation", border=0)
    report.section(
        "Data quality",
        "Every raw row is either clean or quarantined with a reason; nothing is dropped silently.",
        "Bad input",
        report.figure_html(figure) + table,
    )


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
section { margin-bottom: 2.5rem; } .guide { color: #555; }
.cards { display: flex; flex-wrap: wrap; gap: 1rem; } .card { border: 1px solid #ddd; border-radius: 8px;
padding: 0.8rem 1.2rem; min-width: 9rem; } .label { color: #666; font-size: 0.85rem; }
.value { font-size: 1.5rem; font-weight: 600; }
table.reconciliation td, table.reconciliation th { padding: 0.2rem 0.8rem; }
"""


def build_report(database: Path) -> str:
    with duckdb.connect(str(database), read_only=True) as connection:
        report = Report(connection)
        for part in (headline, segments_vs_cac, value_tiers, cohorts, rfm_grid, churn_risk, predictive, data_quality):
            part(report)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>CLV report</title>'
        f"<style>{STYLE}</style></head><body><h1>Customer lifetime value</h1>"
        + "".join(report.sections)
        + "</body></html>"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    arguments = parser.parse_args(argv)
    database = published_path()
    if not database.exists():
        print(f"report: nothing published yet ({database} not found): run make build", file=sys.stderr)
        return 2
    out = arguments.out or database.with_name("clv_report.html")
    out.write_text(build_report(database), encoding="utf-8")
    print(f"report: wrote {out} ({out.stat().st_size / 2**20:.1f} MiB, self-contained; open it from disk)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
