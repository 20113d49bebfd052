"""The CLV report and the docs site as a consumer gets them: `make build`, then `make report` writes one
self-contained HTML file from the published database and `make docs` one offline docs page; both are opened
in a real headless Chromium (python_checks/browser.py), their screenshots written under target/screenshots/."""

from __future__ import annotations

import ast
import re
import subprocess

import duckdb
import pytest
from playwright.sync_api import sync_playwright

from python_checks.browser import launch, open_offline
from python_checks.project import PROJECT, SEEDS, dbt_ls, make_build, make_env

SCREENSHOTS = PROJECT / "target" / "screenshots"

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


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


# every chart of the page: its section, its traces and data points, and the marks plotly drew for them
CHARTS_JS = """() => [...document.querySelectorAll('.plotly-graph-div')].map(div => ({
    section: div.closest('section').dataset.section,
    title: (div.layout && div.layout.title && div.layout.title.text) || '',
    points: (div._fullData || []).reduce((n, trace) => n + (trace.z
        ? Array.from(trace.z).reduce((m, row) => m + Array.from(row).filter(v => v !== null && !isNaN(v)).length, 0)
        : (trace.y || trace.x || []).length), 0),
    marks: [...div.querySelectorAll('.trace path')].filter(path => (path.getAttribute('d') || '').length > 4).length
        + [...div.querySelectorAll('image')].filter(image => image.getAttribute('href')).length,
    height: div.getBoundingClientRect().height,
}))"""
PLOTTED_JS = "[...document.querySelectorAll('.plotly-graph-div')].every(div => div._fullLayout)"


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
    # an id shown in the page is one of its words (ids are word characters only): one pass over the page
    assert ids and all(re.fullmatch(r"\w+", customer) for customer in ids)
    assert not ids & set(re.findall(r"\w+", page))


def test_the_report_opens_offline_in_a_browser_with_every_chart_drawn(report, browser):
    folder, _ = report
    opened = open_offline(browser, folder / "published" / "clv_report.html", wait_for=PLOTTED_JS)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    opened.page.screenshot(path=str(SCREENSHOTS / "clv_report.png"), full_page=True)
    assert opened.console_errors == []
    assert opened.requests == []
    charts = opened.page.evaluate(CHARTS_JS)
    assert {chart["section"] for chart in charts} == set(SECTIONS) - {"Headline"}
    empty = [chart for chart in charts if not (chart["points"] > 0 and chart["marks"] > 0 and chart["height"] > 100)]
    assert empty == [], empty
    opened.page.close()


def test_the_headline_shown_in_the_browser_is_the_published_marts(report, browser):
    folder, _ = report
    opened = open_offline(browser, folder / "published" / "clv_report.html")
    shown = opened.page.evaluate(
        "() => Object.fromEntries([...document.querySelectorAll('[data-metric]')].map(e => "
        "[e.dataset.metric, {value: e.dataset.value, text: e.innerText, visible: e.offsetHeight > 0}]))"
    )
    opened.page.close()
    with duckdb.connect(str(folder / "published" / "clv.duckdb"), read_only=True) as connection:
        business = connection.execute("select * from segment_clv where segment_dimension = 'all'").df().iloc[0]
    assert all(item["visible"] for item in shown.values())
    for name in ("clv_revenue", "clv_margin", "clv_discounted", "cac", "ltv_to_cac_ratio"):
        assert float(shown[name]["value"]) == pytest.approx(float(business[name]), rel=1e-12), name
        assert shown[name]["text"] == f"{business[name]:,.2f}", name
    assert shown["ltv_cac_health"]["text"] == business.ltv_cac_health
    assert shown["as_of_date"]["text"] == f"{business.as_of_date:%Y-%m-%d}"


def test_the_docs_site_opens_offline_in_a_browser(report, browser):
    folder, _ = report
    completed = subprocess.run(
        ["make", "-s", "docs"], cwd=PROJECT, env=make_env(folder), capture_output=True, text=True, timeout=900
    )
    assert completed.returncode == 0, (completed.stdout + completed.stderr)[-4000:]
    page_path = folder / "target" / "static_index.html"
    opened = open_offline(
        browser, page_path, width=1400, wait_for="document.querySelectorAll('.menu-icon-on').length > 0"
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    opened.page.screenshot(path=str(SCREENSHOTS / "docs_overview.png"))
    assert "Customer lifetime value" in opened.page.inner_text("body")
    # a mart's page: its description and its columns, from the embedded manifest and catalog
    opened.page.evaluate("() => { window.location.hash = '#!/model/model.clv.customer_clv'; }")
    opened.page.wait_for_function("document.body.innerText.includes('predicted_clv')", timeout=30_000)
    opened.page.wait_for_timeout(500)
    opened.page.screenshot(path=str(SCREENSHOTS / "docs_customer_clv.png"))
    text = opened.page.inner_text("body")
    assert "Grain: one row per customer_id" in text and "value_tier" in text
    assert opened.console_errors == []
    assert opened.requests == []
    opened.page.close()


def test_the_report_exposures_list_every_mart_the_report_reads(tmp_path):
    """Every relation a query of scripts/report.py reads is upstream of the report's exposures, so that
    `dbt ls --select +exposure:clv_report +exposure:clv_report_predictive` shows what a change touches."""
    source = (PROJECT / "scripts" / "report.py").read_text(encoding="utf-8")
    queries = [
        node.value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("select ")
    ]
    read = {table for query in queries for table in re.findall(r"\b(?:from|join) ([a-z_]+)", query)}
    read -= {"duckdb_tables"}  # DuckDB's catalog: is the predictive branch published?
    assert {"segment_clv", "clv_frequency_recency", "data_quality_quarantine"} <= read
    listed = dbt_ls("+exposure:clv_report +exposure:clv_report_predictive", tmp_path, ("model",))
    assert sorted(table for table in read if not any(node.endswith(f".{table}") for node in listed)) == []
