"""Bad input: every quarantine reason, with counts known from how the folder was built."""

import pytest

from python_checks.datasets import write_table
from python_checks.project import build_ok
from python_checks.reference import TABLE_COLUMNS

HEADERS = {
    table: [c for c in columns if c != "order_item_id"] for table, columns in TABLE_COLUMNS.items()
}  # lines without ids here
CLEAN = {
    "orders": [
        ["O1", "C1", "2025-01-05 10:00:00", "100.00", "completed", "USD"],
        ["O2", "C1", "2025-03-05T11:00:00Z", "80.00", "Shipped", "EUR"],
        ["O3", "C2", "2025-02-01", "50.00", "", ""],
        ["O4", "C3", "2025-04-01 09:30:00", "20.00", "CANCELLED", "USD"],
    ],
    "order_items": [["O1", "P1", "2", "30.00"], ["O2", "P2", "1", "40.00"], ["O3", "P1", "1", "25.00"]],
    "product_costs": [["P1", "2024-01-01", "10.00"], ["P1", "2025-02-01", "12.00"], ["P2", "2024-01-01", "20.00"]],
    "refunds": [["R1", "O1", "2025-01-10 10:00:00", "10.00"]],
    "customers": [
        ["C1", "2024-12-01", "a@example.com", "us", "Email"],
        ["C2", "2024-12-02", "b@example.com", "GB", "social"],
        ["C3", "", "", "", ""],
    ],
    "marketing_spend": [["2025-01-01", "email", "100.00", "USD"], ["2025-02-01", "social", "50.00", "EUR"]],
    "fx_rates": [["2024-12-01", "EUR", "1.10"], ["2025-03-01", "EUR", "1.20"]],
    "inventory": [["2025-01-01", "2025-03-31", "1000", "500", "900"]],
}
# (table, reason, bad rows, expected quarantined rows)
BAD = [
    ("orders", "duplicate_row", [CLEAN["orders"][0], CLEAN["orders"][0]], 2),
    (
        "orders",
        "conflicting_order_id",
        [["O90", "C1", "2025-01-01", "10", "completed", "USD"], ["O90", "C1", "2025-01-01", "11", "completed", "USD"]],
        2,
    ),
    ("orders", "null_order_id", [["", "C1", "2025-01-01", "10", "completed", "USD"]], 1),
    ("orders", "null_customer_id", [["O91", " ", "2025-01-01", "10", "completed", "USD"]], 1),
    (
        "orders",
        "unparseable_timestamp",
        [["O92", "C1", "2025-13-45", "10", "completed", "USD"], ["O93", "C1", "01/02/2025", "10", "completed", "USD"]],
        2,
    ),
    ("orders", "unparseable_number", [["O94", "C1", "2025-01-01", "ten", "completed", "USD"]], 1),
    ("orders", "negative_amount", [["O95", "C1", "2025-01-01", "-10", "completed", "USD"]], 1),
    ("orders", "implausible_amount", [["O89", "C1", "2025-01-01", "2e12", "completed", "USD"]], 1),
    ("orders", "unknown_status", [["O96", "C1", "2025-01-01", "10", "teleported", "USD"]], 1),
    (
        "orders",
        "missing_fx_rate",
        [["O97", "C1", "2025-01-01", "10", "completed", "JPY"], ["O98", "C1", "2024-11-01", "10", "completed", "EUR"]],
        2,
    ),
    ("orders", "future_dated", [["O99", "C1", "2199-01-01 00:00:00", "10", "completed", "USD"]], 1),
    ("order_items", "duplicate_row", [CLEAN["order_items"][0]], 1),
    ("order_items", "null_product_id", [["O1", "", "1", "1.00"]], 1),
    ("order_items", "unparseable_number", [["O1", "P3", "one", "1.00"]], 1),
    ("order_items", "negative_amount", [["O1", "P4", "-1", "1.00"]], 1),
    ("order_items", "implausible_amount", [["O1", "P5", "1e13", "1.00"]], 1),
    ("order_items", "orphan_item", [["O404", "P1", "1", "1.00"], ["O95", "P1", "1", "1.00"]], 2),
    ("product_costs", "duplicate_row", [CLEAN["product_costs"][2]], 1),
    ("product_costs", "conflicting_cost", [["P7", "2024-01-01", "1.00"], ["P7", "2024-01-01", "2.00"]], 2),
    ("product_costs", "null_product_id", [["", "2024-01-01", "1.00"]], 1),
    ("product_costs", "unparseable_timestamp", [["P8", "soon", "1.00"]], 1),
    ("product_costs", "unparseable_number", [["P8", "2024-01-01", "1,00"]], 1),
    ("product_costs", "implausible_amount", [["P10", "2024-01-01", "1e13"]], 1),
    ("product_costs", "negative_amount", [["P9", "2024-01-01", "-1.00"]], 1),
    ("refunds", "duplicate_row", [CLEAN["refunds"][0]], 1),
    ("refunds", "conflicting_refund_id", [["R9", "O2", "2025-03-10", "1.00"], ["R9", "O2", "2025-03-11", "1.00"]], 2),
    ("refunds", "null_refund_id", [["", "O2", "2025-03-10", "1.00"]], 1),
    ("refunds", "unparseable_timestamp", [["R10", "O2", "last week", "1.00"]], 1),
    ("refunds", "unparseable_number", [["R11", "O2", "2025-03-10", "1.0.0"]], 1),
    ("refunds", "negative_amount", [["R12", "O2", "2025-03-10", "-1.00"]], 1),
    ("refunds", "implausible_amount", [["R15", "O2", "2025-03-10", "1e13"]], 1),
    ("refunds", "future_dated", [["R13", "O2", "2199-03-10", "1.00"]], 1),
    ("refunds", "orphan_refund", [["R14", "O404", "2025-03-10", "1.00"]], 1),
    ("customers", "duplicate_row", [CLEAN["customers"][1]], 1),
    (
        "customers",
        "conflicting_customer_id",
        [["C9", "2024-01-01", "x@example.com", "US", "email"], ["C9", "2024-01-01", "y@example.com", "US", "email"]],
        2,
    ),
    ("customers", "null_customer_id", [["", "2024-01-01", "z@example.com", "US", "email"]], 1),
    ("customers", "unparseable_timestamp", [["C10", "yesterday", "w@example.com", "US", "email"]], 1),
    ("customers", "future_dated", [["C11", "2199-01-01", "v@example.com", "US", "email"]], 1),
    ("marketing_spend", "duplicate_row", [CLEAN["marketing_spend"][0]], 1),
    ("marketing_spend", "null_channel", [["2025-01-02", "", "1.00", "USD"]], 1),
    ("marketing_spend", "unparseable_timestamp", [["2025-02-30", "email", "1.00", "USD"]], 1),
    ("marketing_spend", "unparseable_number", [["2025-01-03", "email", "$1", "USD"]], 1),
    ("marketing_spend", "negative_amount", [["2025-01-04", "email", "-1.00", "USD"]], 1),
    ("marketing_spend", "implausible_amount", [["2025-01-06", "email", "1e13", "USD"]], 1),
    ("marketing_spend", "missing_fx_rate", [["2025-01-05", "email", "1.00", "JPY"]], 1),
    ("marketing_spend", "future_dated", [["2199-01-05", "email", "1.00", "USD"]], 1),
    ("fx_rates", "duplicate_row", [CLEAN["fx_rates"][0]], 1),
    ("fx_rates", "conflicting_fx_rate", [["2025-01-01", "CHF", "1.10"], ["2025-01-01", "CHF", "1.15"]], 2),
    ("fx_rates", "null_currency", [["2025-01-01", "", "1.10"]], 1),
    ("fx_rates", "unparseable_timestamp", [["2025-1-1x", "CAD", "0.7"]], 1),
    ("fx_rates", "unparseable_number", [["2025-01-01", "CAD", "nan"]], 1),
    ("fx_rates", "implausible_amount", [["2025-01-03", "CAD", "1e13"]], 1),
    ("fx_rates", "negative_amount", [["2025-01-02", "CAD", "0"]], 1),
    ("fx_rates", "future_dated", [["2199-01-02", "CAD", "0.7"]], 1),
    ("inventory", "duplicate_row", [CLEAN["inventory"][0]], 1),
    (
        "inventory",
        "conflicting_period_start",
        [["2024-01-01", "2024-03-31", "1", "1", "1"], ["2024-01-01", "2024-03-31", "2", "1", "1"]],
        2,
    ),
    ("inventory", "unparseable_timestamp", [["Q3", "2024-09-30", "1", "1", "1"]], 1),
    ("inventory", "unparseable_number", [["2024-04-01", "2024-06-30", "1", "x", "1"]], 1),
    ("inventory", "negative_amount", [["2024-07-01", "2024-09-30", "1", "-1", "1"]], 1),
    ("inventory", "implausible_amount", [["2024-11-01", "2024-11-30", "1", "1e13", "1"]], 1),
    ("inventory", "invalid_period", [["2024-10-01", "2024-09-30", "1", "1", "1"]], 1),
    ("inventory", "future_dated", [["2199-10-01", "2199-12-31", "1", "1", "1"]], 1),
]


@pytest.fixture(scope="module")
def bad_build(tmp_path_factory):
    work = tmp_path_factory.mktemp("bad_input")
    for table, header in HEADERS.items():
        rows = list(CLEAN[table])
        for bad_table, _, bad_rows, _ in BAD:
            if bad_table == table:
                rows += bad_rows
        write_table(work / "raw", table, header, rows)
    # the models, every data test and the unit tests pass on a folder full of bad rows; its tables are mostly bad
    # on purpose, so the audit of a delivery's share of unreadable rows (tested in test_publish.py) is off here
    return build_ok("build", work, {"raw_data_dir": str(work / "raw"), "max_quarantined_share": 1})


@pytest.mark.parametrize("table,reason,rows,expected", BAD, ids=[f"{t}-{r}" for t, r, _, _ in BAD])
def test_each_reason_quarantines_exactly_its_rows(bad_build, table, reason, rows, expected):
    found = bad_build.read(
        f"select count(*) as n from data_quality_quarantine"
        f" where source_table = '{table}' and quarantine_reason = '{reason}'"
    ).n.iloc[0]
    assert found == expected


def test_nothing_else_is_quarantined_and_every_table_reconciles(bad_build):
    recon = bad_build.table("data_quality_reconciliation").set_index("source_table")
    for table in HEADERS:
        bad = sum(expected for t, _, _, expected in BAD if t == table)
        assert recon.loc[table, "raw_rows"] == len(CLEAN[table]) + sum(len(r) for t, _, r, _ in BAD if t == table)
        assert recon.loc[table, "quarantined_rows"] == bad, table
        assert recon.loc[table, "clean_rows"] == len(CLEAN[table]), table
        assert recon.loc[table, "is_reconciled"]


def test_quarantine_keeps_the_raw_content(bad_build):
    rows = bad_build.read("select raw_row from data_quality_quarantine where quarantine_reason = 'unknown_status'")
    assert rows.raw_row.tolist() == [
        "order_id=O96 | customer_id=C1 | ordered_at=2025-01-01 | order_total=10 | status=teleported | currency=USD"
    ]


def test_clean_rows_are_typed_and_normalised(bad_build):
    orders = bad_build.read(
        "select order_id, status, currency, fx_rate, ordered_at from stg_raw__orders order by order_id"
    )
    assert orders.status.tolist() == ["completed", "shipped", "completed", "cancelled"]
    assert orders.currency.tolist() == ["USD", "EUR", "USD", "USD"]
    assert orders.fx_rate.tolist() == [1.0, 1.20, 1.0, 1.0]  # EUR on 2025-03-05 takes the 2025-03-01 rate
    assert str(orders.ordered_at[1]) == "2025-03-05 11:00:00"
    customers = bad_build.read("select customer_id, country, acquisition_channel from stg_raw__customers order by 1")
    assert customers.country.tolist() == ["US", "GB", "unknown"]
    assert customers.acquisition_channel.tolist() == ["email", "social", "unknown"]
