"""The CLV report as a consumer gets it: `make build`, then `make report` writes one self-contained HTML file from
the published database. (The checks in a real browser come with the Chromium setup: issue 16.)"""

from __future__ import annotations

import re
import subprocess

import duckdb
import pytest

from python_checks.project import PROJECT, SEEDS, make_build, make_env

SECTIONS = [
    "Headline",
    "Segment CLV vs CAC",
    "Value tiers",
    "Cohorts",
    "RFM grid",
    "Churn risk",
    "Predictive diagnostics",
    "Data quality",
]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    result = make_build(folder)
    assert result.returncode == 0, result.output[-6000:]
    completed = subprocess.run(
        ["make", "-s", "report"], cwd=PROJECT, env=make_env(folder), capture_output=True, text=True, timeout=600
    )
    assert completed.returncode == 0, (completed.stdout + completed.stderr)[-4000:]
    return folder, (folder / "published" / "clv_report.html").read_text(encoding="utf-8")


def test_the_report_is_one_self_contained_file_with_every_section(report):
    _, page = report
    assert re.findall(r'data-section="([^"]+)"', page) == SECTIONS
    assert page.count('class="plotly-graph-div"') >= 7  # a chart in every section but the headline
    # nothing is fetched when it opens: no external script, stylesheet, image or font
    assert not re.findall(r"<script[^>]*\ssrc=", page)
    assert not re.findall(r"<link[\s>]", page)
    assert not re.findall(r"<img[^>]*\ssrc=\"https?:", page)
    assert "@import" not in page


def test_the_headline_numbers_are_the_published_marts(report):
    folder, page = report
    shown = dict(re.findall(r'data-metric="([^"]+)" data-value="([^"]*)"', page))
    with duckdb.connect(str(folder / "published" / "clv.duckdb"), read_only=True) as connection:
        business = connection.execute("select * from segment_clv where segment_dimension = 'all'").df().iloc[0]
    assert set(shown) == {"clv_revenue", "clv_margin", "clv_discounted", "cac", "ltv_to_cac_ratio"}
    for name, value in shown.items():
        assert float(value) == pytest.approx(float(business[name]), rel=1e-12), name
    assert f'data-metric="as_of_date">{business.as_of_date:%Y-%m-%d}<' in page


def test_the_report_holds_no_personal_data(report):
    _, page = report
    customers = (SEEDS / "customers.csv").read_text().splitlines()[1:]
    emails = {line.split(",")[2] for line in customers if line.count(",") >= 2 and "@" in line.split(",")[2]}
    ids = {line.split(",")[0] for line in customers} - {""}
    assert emails and not [email for email in emails if email in page]
    assert not [customer for customer in ids if re.search(rf"\b{re.escape(customer)}\b", page)]
