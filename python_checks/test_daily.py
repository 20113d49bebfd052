"""Ten simulated days of the README's daily command, `make build VARS='{raw_data_dir: ...}'`, on the demo data
(CLV_DAILY_DAYS days instead: 61 for the two months of `make test-daily-long`, outside make test and CI):
the last ten days of orders (with their lines and refunds) arrive one day at a time as new delivery files in
sub-folders; on day 4 an order dated three months back arrives (late data: the incremental run cannot see it,
so the build fails, says so and what to do, and publishes nothing; the user's `--full-refresh` reads it); on day 7
a refund of an order of last year arrives. Every other day is an incremental run, with the README's daily
setting `refit: weekly`. At the end every metric mart equals the pandas reference on the final folder,
clv_history has the as-of of every day, and the models were fitted on the first day and again each time the fit
was 7 days old, their published parameters reused in between (the predictions of a reused fit are lifetimes'
with those parameters on that day's data)."""

from __future__ import annotations

import csv
import datetime as dt
import os
import shutil

import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter

from python_checks.compare import assert_matches
from python_checks.project import MART_KEYS, SEEDS, make_build, published_columns
from python_checks.reference import bgnbd_summary, compute

DAYS = int(os.environ.get("CLV_DAILY_DAYS", "10"))
LAST_DAY = dt.date(2025, 12, 31)  # the demo data's last day of orders
FIRST_DAY = LAST_DAY - dt.timedelta(days=DAYS - 1)
START = FIRST_DAY - dt.timedelta(days=1)  # the first build's as-of: nothing published, a fit
LATE_DAY, OLD_REFUND_DAY = 4, 7
REFIT_EVERY = 7  # refit: weekly: a fit 7 days old is refitted
LAST_REFIT_DAY = REFIT_EVERY * (DAYS // REFIT_EVERY)
DELIVERED = ("orders", "order_items", "refunds")
LIFETIMES = {"bg_nbd": BetaGeoFitter, "mbg_nbd": ModifiedBetaGeoFitter, "pareto_nbd": ParetoNBDFitter}


def read(name: str) -> tuple[list[str], list[list[str]]]:
    with open(SEEDS / f"{name}.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def write(folder, name: str, file: str, header: list[str], rows: list[list[str]]) -> None:
    (folder / name).mkdir(parents=True, exist_ok=True)
    with open(folder / name / f"{file}.csv", "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def day_of(stamp: str) -> int | None:
    """The simulated day (1 .. DAYS) a row dated stamp arrives on; 0 (the base) before the first day and for text
    that is no date; None for a date after the last day (such a row has not happened yet: it never arrives)."""
    try:
        date = dt.date.fromisoformat(stamp[:10])
    except ValueError:
        return 0
    if date.year > 2030:
        return 0  # the demo's far-future rows (quarantined as future_dated) stay in the base
    day = (date - FIRST_DAY).days + 1
    return None if day > DAYS else max(day, 0)


def split_by_day(raw):
    """The demo folder with the orders of the last DAYS days held back with their lines and refunds, and the
    refunds dated in those days held back to their day (refunds dated after them never arrive): the base rows
    written as <table>/base.csv, the held-back rows by day."""
    tables = {name: read(name) for name in DELIVERED}
    header, orders = tables["orders"]
    order_day = {row[header.index("order_id")]: day_of(row[header.index("ordered_at")]) for row in orders}
    held = {day: {name: [] for name in DELIVERED} for day in range(0, DAYS + 1)}
    for name, (columns, rows) in tables.items():
        for row in rows:
            day = order_day.get(row[columns.index("order_id")]) or 0
            if name == "refunds":
                refund_day = day_of(row[columns.index("refunded_at")])
                day = None if refund_day is None else max(day, refund_day)
            if day is not None:
                held[day][name].append(row)
    base = held.pop(0)
    for name, (columns, _) in tables.items():
        write(raw, name, "base", columns, base[name])
    for path in SEEDS.glob("*.csv"):
        if path.stem not in DELIVERED:
            shutil.copy(path, raw / path.name)
    return {name: columns for name, (columns, _) in tables.items()}, held, orders


@pytest.fixture(scope="module")
def days(tmp_path_factory):
    folder = tmp_path_factory.mktemp("daily")
    raw = folder / "raw"
    headers, held, orders = split_by_day(raw)
    vars = {"raw_data_dir": str(raw), "refit": "weekly"}
    order_header = headers["orders"]
    first = make_build(folder, vars)
    assert first.returncode == 0, first.output[-6000:]
    runs = {}
    for day in range(1, DAYS + 1):
        for name in DELIVERED:
            write(raw, name, f"day_{day:02d}", headers[name], held[day][name])
        if day == LATE_DAY:
            late = dict(zip(order_header, orders[0], strict=True))
            late.update(order_id="OLATE1", ordered_at="2025-09-15 10:00:00", order_total="55.00", status="completed")
            write(raw, "orders", "late_delivery", order_header, [[late[column] for column in order_header]])
            runs["late"] = make_build(folder, vars)
            result = make_build(folder, vars, "--full-refresh")
        else:
            if day == OLD_REFUND_DAY:
                old = next(row for row in orders if row[2].startswith("2024-03") and row[4] == "completed")
                order = dict(zip(order_header, old, strict=True))
                write(
                    raw,
                    "refunds",
                    "old_order_refund",
                    headers["refunds"],
                    [["ROLD1", order["order_id"], f"{FIRST_DAY + dt.timedelta(days=day - 1)} 09:00:00", "1.50"]],
                )
            result = make_build(folder, vars)
        if day == LAST_REFIT_DAY:
            shutil.copytree(raw, folder / f"raw_day_{day:02d}")  # what the refit of that day saw
        assert result.returncode == 0, f"day {day}: " + result.output[-6000:]
        assert "WARN=0 ERROR=0 SKIP=0" in result.output, f"day {day}: " + result.output[-3000:]
        runs[day] = result
    return folder, runs


def test_every_day_publishes_from_the_kept_work_database(days):
    _, runs = days
    for day in range(1, DAYS + 1):
        assert "this run is a full build" not in runs[day].output, day
        assert "publish: published run" in runs[day].output, day


def test_late_data_fails_the_run_with_what_to_do_and_publishes_nothing(days):
    _, runs = days
    late = runs["late"]
    assert late.returncode != 0
    assert (
        "CLV late data: orders: 1 raw row was not read by this incremental run, the oldest dated 2025-09-15"
        in late.output
    )
    assert "make build DBT_ARGS=--full-refresh" in late.output
    assert "assert_raw_rows_reconcile" in late.output and "nothing was published" in late.output
    log = runs[DAYS].read("select as_of_date from clv_publish_log order by published_at")
    # the first build, then one run a day: the failed run published nothing
    assert len(log) == DAYS + 1


def test_after_ten_days_every_mart_equals_the_reference(days):
    folder, runs = days
    expected = compute(folder / "raw")
    last = runs[DAYS]
    for mart, keys in MART_KEYS.items():
        columns = [c for c in published_columns(last, mart) if c not in keys]
        assert_matches(last.table(mart), expected[mart], keys, columns, label=mart)


def test_clv_history_has_every_day(days):
    _, runs = days
    history = runs[DAYS].table("clv_history")
    as_ofs = sorted(set(history[history.segment_dimension == "all"].as_of_date.dt.date))
    # the first build's as-of (the last day before the ten) and each day's
    assert as_ofs == [FIRST_DAY + dt.timedelta(days=day - 1) for day in range(0, DAYS + 1)]
    snapshots = set(runs[DAYS].table("customer_clv_history").as_of_date.dt.date)
    as_of_days = [START + dt.timedelta(days=day) for day in range(DAYS + 1)]
    assert snapshots == {day for day in as_of_days if (day + dt.timedelta(days=1)).day == 1}  # the month ends


def test_refit_weekly_fits_when_due_and_reuses_the_published_fit_in_between(days):
    folder, runs = days
    history = runs[DAYS].table("clv_model_parameters_history")
    rows = history[(history.fit == "full") & (history.model == "bg_nbd") & (history.parameter == "r")]
    fitted = {row.as_of_date.date(): (row.fitted_as_of.date(), row.is_refit) for row in rows.itertuples()}
    start = START
    refit_day = start + dt.timedelta(days=LAST_REFIT_DAY)
    expected = {
        start + dt.timedelta(days=day): (
            start + dt.timedelta(days=REFIT_EVERY * (day // REFIT_EVERY)),
            day % REFIT_EVERY == 0,
        )
        for day in range(DAYS + 1)
    }
    assert fitted == expected and LAST_REFIT_DAY >= REFIT_EVERY
    # a reused fit's rows are the published ones, to the last bit
    values = history.pivot(index=["fit", "model", "parameter"], columns="as_of_date", values="value")
    for as_of, (fitted_as_of, _) in expected.items():
        assert np.array_equal(
            values[pd.Timestamp(as_of)].to_numpy(), values[pd.Timestamp(fitted_as_of)].to_numpy(), equal_nan=True
        )
    assert not np.allclose(
        values[pd.Timestamp(start)].to_numpy(), values[pd.Timestamp(refit_day)].to_numpy(), equal_nan=True
    )
    last = runs[DAYS]
    parameters = last.table("clv_model_parameters")
    assert set(parameters.fit_age_days) == {(start + dt.timedelta(days=DAYS) - refit_day).days}
    reused = parameters.refit_reason.str.startswith(f"reused: the fit of {refit_day}")
    assert not parameters.is_refit.any() and reused.all()
    # the refit saw the customers of its day: the reference's customers with a purchase on or before it, on the
    # raw rows delivered by then (a refund arriving later can take a customer's only purchase away)
    on_refit_day = compute(folder / f"raw_day_{LAST_REFIT_DAY:02d}")["purchases"]
    customers = on_refit_day[on_refit_day.order_date <= pd.Timestamp(refit_day)].customer_id.nunique()
    assert set(parameters[(parameters.fit == "full") & (parameters.model != "gamma_gamma")].customers_used) == {
        customers
    }
    # the last day's P(alive) is lifetimes' with the reused parameters on the last day's histories
    model = parameters[parameters.is_selected].model.iloc[0]
    reference = LIFETIMES[model]()
    chosen = parameters[(parameters.fit == "full") & (parameters.model == model)]
    reference.params_ = pd.Series(dict(zip(chosen.parameter, chosen.value, strict=True)))[list(chosen.parameter)]
    purchases = compute(folder / "raw")["purchases"]
    summary = bgnbd_summary(purchases, pd.Timestamp(start + dt.timedelta(days=DAYS)))
    expected_alive = reference.conditional_probability_alive(summary["frequency"], summary["recency"], summary["T"])
    published = last.table("customer_clv").set_index("customer_id").p_alive.reindex(summary.customer_id)
    np.testing.assert_allclose(published.to_numpy(), np.asarray(expected_alive), rtol=1e-6, atol=1e-12)
