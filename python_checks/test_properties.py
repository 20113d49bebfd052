"""Property-based: small random raw datasets build, and every mart equals the reference."""

import datetime as dt
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from python_checks.compare import assert_matches
from python_checks.datasets import write_table
from python_checks.project import MART_KEYS, PREDICTIVE, build_ok
from python_checks.reference import Config, compute

COUNTER = itertools.count()
START = dt.date(2023, 1, 1)


@st.composite
def raw_datasets(draw):
    n_customers = draw(st.integers(1, 12))
    orders, items, customers = [], [], []
    for c in range(n_customers):
        cid = f"C{c}"
        if draw(st.booleans()):
            customers.append(
                [
                    cid,
                    "",
                    "",
                    draw(st.sampled_from(["US", "de", ""])),
                    draw(st.sampled_from(["email", "Social", "ads", ""])),
                ]
            )
        for o in range(draw(st.integers(0, 6))):
            day = START + dt.timedelta(days=draw(st.integers(0, 1094)))
            oid = f"O{c}-{o}"
            orders.append(
                [
                    oid,
                    cid,
                    f"{day.isoformat()} {draw(st.integers(0, 23)):02d}:00:00",
                    f"{draw(st.integers(0, 50000)) / 100:.2f}",
                    draw(st.sampled_from(["completed", "shipped", "cancelled", "returned"])),
                    draw(st.sampled_from(["USD", "EUR", ""])),
                ]
            )
            if draw(st.booleans()):
                items.append([oid, draw(st.sampled_from(["P1", "P2", "P3"])), str(draw(st.integers(1, 3))), "1.00"])
    if not orders:
        orders.append(["O-only", "C0", "2024-05-05 10:00:00", "10.00", "completed", "USD"])
    spend = [
        [
            (START + dt.timedelta(days=draw(st.integers(0, 1094)))).isoformat(),
            draw(st.sampled_from(["email", "social", "ads"])),
            f"{draw(st.integers(0, 100000)) / 100:.2f}",
            "USD",
        ]
        for _ in range(draw(st.integers(0, 6)))
    ]
    refunds = [
        [f"R{i}", o[0], "2025-01-01", f"{draw(st.integers(0, 2000)) / 100:.2f}"]
        for i, o in enumerate(orders)
        if draw(st.booleans()) and i < 4
    ]
    as_of = draw(st.sampled_from([None, "2024-12-31", "2025-06-15"]))
    window = draw(st.sampled_from([12, 6, 3]))
    return {
        "orders": orders,
        "order_items": items,
        "customers": customers,
        "marketing_spend": spend,
        "refunds": refunds,
        "as_of_date": as_of,
        "observation_window_months": window,
    }


@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=raw_datasets())
def test_random_raw_data_matches_reference(tmp_path_factory, data):
    work = tmp_path_factory.mktemp(f"prop{next(COUNTER)}")
    raw = work / "raw"
    write_table(
        raw, "orders", ["order_id", "customer_id", "ordered_at", "order_total", "status", "currency"], data["orders"]
    )
    write_table(raw, "order_items", ["order_id", "product_id", "quantity", "unit_price"], data["order_items"])
    write_table(
        raw,
        "product_costs",
        ["product_id", "valid_from", "unit_cost"],
        [["P1", "2022-01-01", "3.00"], ["P1", "2024-03-01", "4.00"], ["P2", "2022-01-01", "7.50"]],
    )
    write_table(
        raw,
        "fx_rates",
        ["rate_date", "currency", "rate_to_reporting"],
        [["2022-12-01", "EUR", "1.05"], ["2024-06-03", "EUR", "1.12"]],
    )
    write_table(
        raw, "customers", ["customer_id", "created_at", "email", "country", "acquisition_channel"], data["customers"]
    )
    write_table(raw, "marketing_spend", ["spend_date", "channel", "amount", "currency"], data["marketing_spend"])
    write_table(raw, "refunds", ["refund_id", "order_id", "refunded_at", "amount"], data["refunds"])
    vars = {"raw_data_dir": str(raw), "observation_window_months": data["observation_window_months"]}
    if data["as_of_date"]:
        vars["as_of_date"] = data["as_of_date"]
    result = build_ok("build", work, vars)
    expected = compute(
        raw, Config(as_of_date=data["as_of_date"], observation_window_months=data["observation_window_months"])
    )
    for mart, keys in MART_KEYS.items():
        actual = result.table(mart)
        assert_matches(
            actual,
            expected[mart],
            keys,
            [c for c in actual.columns if c not in keys and not c.startswith(PREDICTIVE)],
            label=mart,
        )
    assert result.table("data_quality_reconciliation").is_reconciled.all()
