"""What a new user's first real try throws at the project: personal data, repeated order lines, hopeless
and hostile files. Every build is the README's own-data command, `dbt build` with nothing excluded."""

from __future__ import annotations

import csv
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pytest

from python_checks.compare import assert_matches, assert_reconciliation_matches
from python_checks.datasets import demo_copy, write_table
from python_checks.project import SEEDS, run_dbt
from python_checks.reference import Config, compute

ORDERS = ["order_id", "customer_id", "ordered_at", "order_total"]
PROBE = "leak-probe.invalid"  # the domain of every planted address: it must never leave staging


def planted_customers(folder: Path) -> Path:
    """The demo data plus customers whose addresses are distinctive: clean ones, a conflicting pair that
    differs only in its email, an exact copy, an unparseable date, a null id and a malformed line."""
    demo_copy(folder)
    rows = [
        ["C00001", "2023-08-27 09:01:00", f"clean.one@{PROBE}", "GB", "organic"],
        ["P00001", "2024-01-01", f"conflict.a@{PROBE}", "US", "email"],
        ["P00001", "2024-01-01", f"conflict.b@{PROBE}", "US", "email"],
        ["P00002", "2024-02-01", f"copy@{PROBE}", "US", "social"],
        ["P00002", "2024-02-01", f"copy@{PROBE}", "US", "social"],
        ["P00003", "someday", f"bad.date@{PROBE}", "US", "social"],
        ["", "2024-03-01", f"no.id@{PROBE}", "GB", "email"],
    ]
    customers = (folder / "customers.csv").read_text().splitlines()
    customers = [line for line in customers if not line.startswith("C00001,")]  # replaced by a planted clean row
    with open(folder / "customers.csv", "w", newline="") as handle:
        handle.write("\n".join(customers) + "\n")
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerows(rows)
        handle.write(f"P00004,2024-04-01,malformed@{PROBE},US,email,one field too many\n")
    return folder


def repeated_lines(folder: Path) -> Path:
    """Order lines keyed by order_item_id: the same product twice in one order (two lines), an exact copy of
    a line (a duplicate), and one line id with two contents (a conflict)."""
    write_table(
        folder,
        "orders",
        ORDERS,
        [
            ["O1", "C1", "2025-01-10", "100.00"],
            ["O2", "C2", "2025-01-11", "100.00"],
            ["O3", "C1", "2025-02-10", "100.00"],
        ],
    )
    write_table(
        folder,
        "order_items",
        ["order_id", "order_item_id", "product_id", "quantity", "unit_price"],
        [
            ["O1", "1", "P1", "1", "20.00"],
            ["O1", "2", "P1", "1", "20.00"],  # a second line of the same product
            ["O2", "1", "P1", "2", "20.00"],
            ["O2", "1", "P1", "2", "20.00"],  # an exact copy of a line
            ["O3", "1", "P1", "1", "20.00"],
            ["O3", "1", "P1", "3", "20.00"],  # one line id, two contents
        ],
    )
    write_table(folder, "product_costs", ["product_id", "valid_from", "unit_cost"], [["P1", "2024-01-01", "10.00"]])
    return folder


def lines_without_ids(folder: Path) -> Path:
    """The same lines without order_item_id: identical lines of one order are copies of one line."""
    repeated_lines(folder)
    with open(folder / "order_items.csv") as handle:
        rows = list(csv.reader(handle))
    write_table(
        folder, "order_items", ["order_id", "product_id", "quantity", "unit_price"], [[r[0], *r[2:]] for r in rows[1:]]
    )
    return folder


def ragged_orders(folder: Path) -> Path:
    """orders.csv with one row of a field too many and one of a field too few among good rows."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "orders.csv").write_text(
        "order_id,customer_id,ordered_at,order_total\n"
        "O1,C1,2025-01-05,40.00\nO2,C1,2025-02-05,25.00,extra\nO3,C2\nO4,C2,2025-03-01,12.00\nO5,C3,2025-03-02,9.50\n"
    )
    return folder


def latin1_orders(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = (
        "order_id,customer_id,ordered_at,order_total\n"
        "O1,José,2025-01-05,40.00\nO2,José,2025-02-05,25.00\nO3,Zoë,2025-03-01,12.00\n"
    )
    (folder / "orders.csv").write_bytes(text.encode("latin-1"))
    return folder


def implausible_total(folder: Path) -> Path:
    """Two years of orders, among them totals no shop has (1e308, 5e12) and one beyond the double range."""
    write_table(
        folder,
        "orders",
        ORDERS,
        [
            ["O1", "C1", "2024-02-05", "40.00"],
            ["O2", "C1", "2025-02-05", "1e308"],
            ["O3", "C2", "2024-03-01", "12.00"],
            ["O4", "C2", "2025-03-01", "12.00"],
            ["O5", "C2", "2025-03-02", "5e12"],
            ["O6", "C3", "2025-03-03", "1e400"],
            ["O7", "C1", "2025-01-10", "30.00"],
        ],
    )
    return folder


def awkward_but_valid(folder: Path) -> Path:
    """A byte-order mark, CRLF line ends, `;` separators, a quoted field holding the separator, UTC offsets."""
    folder.mkdir(parents=True, exist_ok=True)
    orders = (
        "\ufefforder_id;customer_id;ordered_at;order_total\r\n"
        "O1;C1;2025-01-05T23:30:00-02:00;40.00\r\n"
        'O2;"C;1";2025-02-05 10:00:00;25.00\r\n'
        "O3;C2;2025-03-01T00:00:00Z;12.00\r\n"
    )
    (folder / "orders.csv").write_bytes(orders.encode("utf-8"))
    (folder / "customers.csv").write_text(
        "customer_id,created_at,email,country,acquisition_channel\n"
        'C1,2024-12-01,a@example.com,US,"Email, newsletter"\nC2,2024-12-02,,GB,social\n'
    )
    return folder


def hopeless(kind: str):
    def build(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "orders.csv"
        if kind == "no_orders_file":
            (folder / "customers.csv").write_text("customer_id\nC1\n")
        elif kind == "empty_file":
            path.write_bytes(b"")
        elif kind == "header_only":
            path.write_text(",".join(ORDERS) + "\n")
        elif kind == "every_row_quarantined":
            write_table(folder, "orders", ORDERS, [[f"O{i}", "C1", f"day {i}", "10.00"] for i in range(1, 1205)])
        elif kind == "missing_required_column":
            path.write_text("order_id,customer_id,ordered_at\nO1,C1,2025-01-01\n")
        return folder

    return build


CASES = {
    "planted_customers": (planted_customers, {}),
    "repeated_lines": (repeated_lines, {"as_of_date": "2025-03-31"}),
    "lines_without_ids": (lines_without_ids, {"as_of_date": "2025-03-31"}),
    "ragged_orders": (ragged_orders, {}),
    "latin1_default": (latin1_orders, {}),
    "latin1_declared": (latin1_orders, {"raw_file_encoding": "latin-1"}),
    "implausible_total": (implausible_total, {}),
    "awkward_but_valid": (awkward_but_valid, {}),
    **{
        f"hopeless_{kind}": (hopeless(kind), {})
        for kind in ["no_orders_file", "empty_file", "header_only", "every_row_quarantined", "missing_required_column"]
    },
}


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    root = tmp_path_factory.mktemp("first_try")

    def build(name):
        builder, vars = CASES[name]
        raw = builder(root / name / "raw")
        return name, raw, run_dbt("build", root / name, {"raw_data_dir": str(raw), **vars})

    with ThreadPoolExecutor(max_workers=2) as pool:
        return {name: (raw, result) for name, raw, result in pool.map(build, CASES)}


def passed(builds, name):
    raw, result = builds[name]
    assert result.returncode == 0, result.output[-5000:]
    assert "WARN=0 ERROR=0 SKIP=0" in result.output
    return raw, result


# --- personal data --------------------------------------------------------------------------------------


def test_no_planted_address_outside_staging(builds):
    """The planted addresses are in staging only: not in a mart, an intermediate relation, the quarantine,
    the reconciliation, target/ (manifest, run results, compiled SQL, catalog) or logs/."""
    raw, result = passed(builds, "planted_customers")
    work = result.db_path.parent
    docs = run_dbt("docs generate", work, {"raw_data_dir": str(raw)})
    assert docs.returncode == 0, docs.output[-3000:]
    assert (work / "target" / "catalog.json").exists()
    with duckdb.connect(str(result.db_path), read_only=True) as con:
        relations = con.execute("select table_schema, table_name from information_schema.tables").fetchall()
        checked = []
        for schema, name in relations:
            if schema == "raw_files" or name.startswith(("base_raw__", "stg_raw__")):
                continue  # the raw source and staging, where personal data may live
            columns = [c[0] for c in con.execute(f'describe "{schema}"."{name}"').fetchall()]
            assert "email" not in columns, f"{schema}.{name} has an email column"
            text = " || '|' || ".join(f"coalesce(cast(\"{c}\" as varchar), '')" for c in columns)
            leaks = con.execute(
                f'select count(*) from "{schema}"."{name}" where ({text}) like \'%{PROBE}%\''
            ).fetchone()[0]
            assert leaks == 0, f"{schema}.{name} holds {leaks} planted addresses"
            checked.append(name)
        assert {
            "data_quality_quarantine",
            "data_quality_reconciliation",
            "segment_clv",
            "customer_clv",
            "int_customers_summarised",
        } <= set(checked)
        # staging does hold them (the probe works): the clean row and the first of the two copies
        assert con.execute(f"select count(*) from stg_raw__customers where email like '%{PROBE}'").fetchone()[0] == 2
    for folder in ("target", "logs"):
        for path in (work / folder).rglob("*"):
            if path.is_file():
                assert PROBE.encode() not in path.read_bytes(), f"{path} holds a planted address"


def test_quarantined_customers_are_redacted_but_told_apart(builds):
    _, result = passed(builds, "planted_customers")
    rows = result.read(
        "select quarantine_reason, raw_key, raw_row from data_quality_quarantine where source_table = 'customers'"
    )
    conflict = sorted(rows[rows.raw_key == "P00001"].raw_row)
    assert len(conflict) == 2 and conflict[0] != conflict[1]
    assert "email=<redacted 1>" in conflict[0] and "email=<redacted 2>" in conflict[1]
    assert set(rows.quarantine_reason) == {
        "conflicting_customer_id",
        "duplicate_row",
        "unparseable_timestamp",
        "null_customer_id",
        "malformed_row",
    }
    malformed = rows[rows.quarantine_reason == "malformed_row"].raw_row.iloc[0]
    assert "customers.csv" in malformed and "content withheld" in malformed


def test_rebuilding_the_same_data_gives_the_same_quarantine(builds, tmp_path):
    raw, result = passed(builds, "planted_customers")
    again = run_dbt("build", tmp_path, {"raw_data_dir": str(raw)})
    assert again.returncode == 0, again.output[-3000:]
    first = result.read("select * from data_quality_quarantine order by quarantine_id")
    second = again.read("select * from data_quality_quarantine order by quarantine_id")
    assert first.equals(second)


# --- order lines ----------------------------------------------------------------------------------------


def test_two_lines_of_one_product_are_two_lines(builds):
    raw, result = passed(builds, "repeated_lines")
    lines = result.read("select quarantine_reason, count(*) as n from base_raw__order_items group by 1")
    counts = dict(zip(lines.quarantine_reason.fillna("clean"), lines.n, strict=True))
    assert counts == {"clean": 3, "duplicate_row": 1, "conflicting_order_item_id": 2}
    cogs = result.read("select order_id, cogs, is_cogs_estimated from int_purchases_sequenced order by 1").set_index(
        "order_id"
    )
    assert cogs.loc["O1", "cogs"] == pytest.approx(20.0)  # both lines of P1 at cost 10
    assert cogs.loc["O2", "cogs"] == pytest.approx(20.0)  # the copy collapsed: one line of 2 units
    assert bool(cogs.loc["O3", "is_cogs_estimated"])  # both conflicting lines quarantined: no items left
    expected = compute(raw, Config(as_of_date="2025-03-31"))
    assert_matches(
        result.table("segment_clv"),
        expected["segment_clv"],
        ["segment_dimension", "segment_value"],
        ["revenue", "cogs", "gross_margin", "clv_discounted"],
        label="repeated_lines",
    )
    assert_reconciliation_matches(
        result.table("data_quality_reconciliation"),
        expected["data_quality_reconciliation"],
        label="repeated_lines/reconciliation",
    )


def test_without_line_ids_identical_lines_are_one_line(builds):
    raw, result = passed(builds, "lines_without_ids")
    lines = result.read("select quarantine_reason, count(*) as n from base_raw__order_items group by 1")
    assert dict(zip(lines.quarantine_reason.fillna("clean"), lines.n, strict=True)) == {"clean": 4, "duplicate_row": 2}
    cogs = result.read("select order_id, cogs from int_purchases_sequenced order by 1").set_index("order_id").cogs
    assert cogs["O1"] == pytest.approx(10.0) and cogs["O3"] == pytest.approx(40.0)


# --- hopeless input -------------------------------------------------------------------------------------

HOPELESS = {
    "no_orders_file": ["raw_data_dir", "has no orders file"],
    "empty_file": ["raw_data_dir", "has no orders file", "zero bytes"],
    "header_only": ["orders: 0 of 0 rows are clean", "a header and no data rows"],
    "every_row_quarantined": ["orders: 0 of 1,204 rows are clean: 1,204 unparseable_timestamp", "orders.csv"],
    "missing_required_column": [
        "lacks the required column(s) order_total",
        "orders.csv",
        "it has: order_id, customer_id, ordered_at",
    ],
}


@pytest.mark.parametrize("kind", list(HOPELESS))
def test_hopeless_input_stops_early_with_what_is_wrong(builds, kind):
    _, result = builds[f"hopeless_{kind}"]
    assert result.returncode != 0
    for fragment in HOPELESS[kind]:
        assert fragment in result.output, result.output[-3000:]
    # stopped where the input is read, with one error, before any generic test of the DAG ran
    assert "Completed with 1 error" in result.output or "Encountered an error" in result.output, result.output[-3000:]
    assert " FAIL " not in result.output  # no data test failed: the error is the message above


# --- hostile files --------------------------------------------------------------------------------------


def test_ragged_rows_are_quarantined_with_their_line(builds):
    raw, result = passed(builds, "ragged_orders")
    rows = result.read(
        "select raw_row from data_quality_quarantine where quarantine_reason = 'malformed_row' order by raw_row"
    )
    assert [r.split(" of ")[0] for r in rows.raw_row] == ["line 3", "line 4"]
    assert rows.raw_row.iloc[0].endswith("orders.csv: O2,C1,2025-02-05,25.00,extra")
    assert result.read("select count(*) as n from stg_raw__orders").n.iloc[0] == 3
    expected = compute(raw)
    assert_reconciliation_matches(
        result.table("data_quality_reconciliation"),
        expected["data_quality_reconciliation"],
        label="ragged/reconciliation",
    )
    assert_matches(
        result.table("segment_clv"),
        expected["segment_clv"],
        ["segment_dimension", "segment_value"],
        ["revenue", "orders", "clv_discounted"],
        label="ragged/segment_clv",
    )


def test_a_latin1_file_names_the_file_and_the_var(builds):
    _, result = builds["latin1_default"]
    assert result.returncode != 0
    assert "orders.csv is not utf-8 encoded" in result.output and "raw_file_encoding" in result.output


def test_a_latin1_file_reads_with_the_declared_encoding(builds):
    _, result = passed(builds, "latin1_declared")
    customers = result.read("select customer_id from customer_clv order by 1").customer_id.tolist()
    assert customers == ["José", "Zoë"]


def test_impossible_amounts_are_quarantined_not_turned_into_nulls(builds):
    raw, result = passed(builds, "implausible_total")
    reasons = result.read("select raw_key, quarantine_reason from data_quality_quarantine order by 1")
    assert reasons.values.tolist() == [
        ["O2", "implausible_amount"],
        ["O5", "implausible_amount"],
        ["O6", "unparseable_number"],
    ]
    business = result.read("select revenue, clv_discounted from segment_clv where segment_dimension = 'all'").iloc[0]
    assert business.revenue == pytest.approx(42.0)  # O4 and O7 in W = (2024-03-01, 2025-03-01]
    assert business.clv_discounted == business.clv_discounted and business.clv_discounted > 0  # finite, not null
    expected = compute(raw)
    assert_matches(
        result.table("segment_clv"),
        expected["segment_clv"],
        ["segment_dimension", "segment_value"],
        ["revenue", "clv_discounted"],
        label="implausible",
    )


def test_bom_crlf_semicolons_quotes_and_offsets_still_read(builds):
    _, result = passed(builds, "awkward_but_valid")
    orders = result.read("select order_id, customer_id, ordered_at, order_total from stg_raw__orders order by 1")
    assert orders.customer_id.tolist() == ["C1", "C;1", "C2"]
    assert str(orders.ordered_at.iloc[0]) == "2025-01-06 01:30:00"  # -02:00 converted to UTC
    assert orders.order_total.tolist() == [40.0, 25.0, 12.0]
    channel = result.read("select acquisition_channel from stg_raw__customers where customer_id = 'C1'").iloc[0, 0]
    assert channel == "email, newsletter"


def test_seeds_hold_no_planted_probe():
    """The probe domain is the tests' own: nothing shipped contains it (so a hit above is a leak, not data)."""
    assert all(PROBE not in path.read_text() for path in SEEDS.glob("*.csv"))
