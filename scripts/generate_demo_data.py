"""Deterministic generator of the demo raw data (the eight raw tables of docs/definitions.md, "Raw inputs").

The shop: customers arrive over three years (2023-2025) through five acquisition channels with
different economics, buy in four currencies, and behave the way BG/NBD assumes (Poisson purchases
while alive, a dropout chance after each purchase). On top of the clean data, a handful of bad
rows of every quarantine reason are injected so that the quarantine is exercised.

    python scripts/generate_demo_data.py --out seeds/raw [--customers 3000] [--seed 42]

The output is committed; a build never needs to run this.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import math
import random
from pathlib import Path

START = dt.date(2023, 1, 1)
END = dt.date(2025, 12, 31)
REPORTING = "USD"

# channel: (share of customers, purchases per year while alive, dropout chance after a purchase,
#           mean order value in USD, daily spend in USD or None for free channels)
CHANNELS = {
    "paid_search": (0.30, 3.0, 0.35, 70.0, 70.0),
    "social": (0.25, 2.2, 0.50, 45.0, 55.0),
    "email": (0.15, 5.0, 0.25, 60.0, 12.0),
    "referral": (0.10, 4.0, 0.20, 85.0, 25.0),
    "organic": (0.20, 3.5, 0.30, 65.0, None),
}
# country: (share, currency)
COUNTRIES = {"US": (0.45, "USD"), "GB": (0.20, "GBP"), "DE": (0.15, "EUR"), "FR": (0.10, "EUR"), "CA": (0.10, "CAD")}
BASE_FX = {"GBP": 1.27, "EUR": 1.09, "CAD": 0.74}


def pick(rng: random.Random, weights: dict) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k][0] for k in keys])[0]


def day_seq(start: dt.date, end: dt.date, step: int):
    d = start
    while d <= end:
        yield d
        d += dt.timedelta(days=step)


def generate(n_customers: int, seed: int) -> dict[str, tuple[list[str], list[list]]]:
    rng = random.Random(seed)
    span_days = (END - START).days

    # FX: weekly rates (Mondays) from a month before the data, random walk around a base rate.
    fx_rows = []
    fx_by_week: dict[tuple[str, dt.date], float] = {}
    for cur, base in BASE_FX.items():
        rate = base
        for d in day_seq(dt.date(2022, 12, 5), END, 7):
            rate = max(0.3, rate * math.exp(rng.gauss(0, 0.01)))
            fx_rows.append([d.isoformat(), cur, f"{rate:.6f}"])
            fx_by_week[(cur, d)] = rate

    def fx(cur: str, d: dt.date) -> float:
        if cur == REPORTING:
            return 1.0
        monday = d - dt.timedelta(days=(d - dt.date(2022, 12, 5)).days % 7)
        return fx_by_week[(cur, monday)]

    # Products and cost history: costs in USD, a cost change on 2024-07-01 for most products.
    n_products = 60
    product_rows = []
    prices = {}
    cost_rows = []
    for p in range(1, n_products + 1):
        pid = f"P{p:03d}"
        price = round(rng.uniform(8, 60), 2)
        prices[pid] = price
        if p > 57:  # three products never get a cost: their orders fall back to the default margin
            continue
        cost = round(price * rng.uniform(0.35, 0.6), 2)
        cost_rows.append([pid, "2022-01-01", f"{cost:.2f}"])
        if p % 4 != 0:
            cost_rows.append([pid, "2024-07-01", f"{cost * rng.uniform(1.05, 1.2):.2f}"])
        product_rows.append(pid)
    all_products = list(prices)

    customers = []
    orders = []
    items = []
    refunds = []
    order_seq = 0
    refund_seq = 0
    for c in range(1, n_customers + 1):
        cid = f"C{c:05d}"
        channel = pick(rng, CHANNELS)
        country = pick(rng, COUNTRIES)
        currency = COUNTRIES[country][1]
        _, rate, dropout, aov, _ = CHANNELS[channel]
        lam = rng.gammavariate(2.0, rate / 2.0)  # heterogeneous purchase rate per year
        first = START + dt.timedelta(days=int(rng.random() ** 0.9 * span_days))
        created = first - dt.timedelta(days=rng.randint(0, 20))
        if c % 97 != 0:  # a few buyers are missing from the customers table: channel "unknown"
            customers.append(
                [cid, f"{created.isoformat()} 09:{c % 60:02d}:00", f"user{c}@example.com", country, channel]
            )
        day = first
        alive = True
        while alive and day <= END:
            order_seq += 1
            oid = f"O{order_seq:06d}"
            ts = dt.datetime.combine(day, dt.time(rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)))
            n_items = rng.choice([1, 1, 1, 2, 2, 3])
            total_usd = 0.0
            lines = []
            for pid in rng.sample(all_products, n_items):
                qty = rng.choice([1, 1, 1, 2, 3])
                unit_usd = prices[pid] * (aov / 65.0)
                total_usd += qty * unit_usd
                lines.append((pid, qty, unit_usd))
            discount = rng.choice([0.0, 0.0, 0.0, 0.1, 0.2])
            rate_fx = fx(currency, day)
            total_local = round(total_usd * (1 - discount) / rate_fx, 2)
            status = rng.choices(["completed", "shipped", "placed", "cancelled", "returned"], weights=[80, 6, 2, 4, 3])[
                0
            ]
            # codes arrive in mixed case and padded, as real exports do
            status_text = (
                {0: status, 1: status.upper(), 2: f" {status.title()} "}[order_seq % 3]
                if order_seq % 11 == 0
                else status
            )
            cur_text = "" if (currency == REPORTING and order_seq % 5 == 0) else currency
            orders.append(
                [
                    oid,
                    cid,
                    ts.isoformat(sep="T" if order_seq % 7 == 0 else " "),
                    f"{total_local:.2f}",
                    status_text,
                    cur_text,
                ]
            )
            if order_seq % 31 != 0:  # about 3% of orders arrive without item lines
                for pid, qty, unit_usd in lines:
                    items.append([oid, pid, str(qty), f"{unit_usd / rate_fx:.2f}"])
            if status == "returned":
                refund_seq += 1
                refunds.append(
                    [
                        f"R{refund_seq:06d}",
                        oid,
                        (ts + dt.timedelta(days=rng.randint(3, 20))).isoformat(sep=" "),
                        f"{total_local:.2f}",
                    ]
                )
            elif status != "cancelled" and rng.random() < 0.05:
                refund_seq += 1
                amt = round(total_local * rng.uniform(0.1, 0.5), 2)
                refunds.append(
                    [
                        f"R{refund_seq:06d}",
                        oid,
                        (ts + dt.timedelta(days=rng.randint(1, 30))).isoformat(sep=" "),
                        f"{amt:.2f}",
                    ]
                )
            if rng.random() < dropout:
                alive = False
            gap_years = rng.expovariate(lam) if lam > 0 else 99
            day = day + dt.timedelta(days=max(1, int(gap_years * 365)))

    # Marketing spend: daily per paid channel; social is billed in EUR.
    spend = []
    for d in day_seq(START, END, 1):
        for ch, (_, _, _, _, daily) in CHANNELS.items():
            if daily is None:
                continue
            amt = daily * rng.uniform(0.6, 1.4) * (1 + 0.2 * math.sin(d.timetuple().tm_yday / 58.0))
            if ch == "social":
                spend.append([d.isoformat(), ch, f"{amt / fx('EUR', d):.2f}", "EUR"])
            else:
                spend.append([d.isoformat(), ch, f"{amt:.2f}", "USD" if d.day % 2 else ""])

    # Quarterly inventory, consistent with the items bought.
    inventory = []
    level = 40000.0
    for year in (2023, 2024, 2025):
        for q in range(4):
            ps = dt.date(year, 3 * q + 1, 1)
            pe = (
                dt.date(year + (q == 3), (3 * q + 4) % 12 or 12, 1) if q < 3 else dt.date(year + 1, 1, 1)
            ) - dt.timedelta(days=1)
            purchases = round(rng.uniform(22000, 34000), 2)
            ending = round(level + purchases - rng.uniform(21000, 33000), 2)
            inventory.append([ps.isoformat(), pe.isoformat(), f"{level:.2f}", f"{purchases:.2f}", f"{ending:.2f}"])
            level = ending

    inject_bad_rows(orders, items, cost_rows, refunds, customers, spend, fx_rows, inventory)

    return {
        "orders": (["order_id", "customer_id", "ordered_at", "order_total", "status", "currency"], orders),
        "order_items": (["order_id", "product_id", "quantity", "unit_price"], items),
        "product_costs": (["product_id", "valid_from", "unit_cost"], cost_rows),
        "refunds": (["refund_id", "order_id", "refunded_at", "amount"], refunds),
        "customers": (["customer_id", "created_at", "email", "country", "acquisition_channel"], customers),
        "marketing_spend": (["spend_date", "channel", "amount", "currency"], spend),
        "fx_rates": (["rate_date", "currency", "rate_to_reporting"], fx_rows),
        "inventory": (
            ["period_start", "period_end", "beginning_inventory", "purchases", "ending_inventory"],
            inventory,
        ),
    }


def inject_bad_rows(orders, items, costs, refunds, customers, spend, fx_rows, inventory) -> None:
    """A handful of bad rows of every quarantine reason, placed deterministically."""
    # orders
    orders.append(list(orders[10]))  # duplicate_row
    orders.append(list(orders[20]))  # duplicate_row
    orders.append(list(orders[20]))  # duplicate_row (a third copy)
    orders.append(
        [orders[30][0], orders[30][1], orders[30][2], "999.99", orders[30][4], orders[30][5]]
    )  # conflicting_order_id x2
    orders.append(["O900001", "", "2024-03-01 10:00:00", "50.00", "completed", "USD"])  # null_customer_id
    orders.append(["O900002", "C00001", "2024-03-01 10:00:00", "50.00", "completed", "USD"])  # ok (kept)
    orders.append(["", "C00002", "2024-03-02 10:00:00", "20.00", "completed", "USD"])  # null_order_id
    orders.append(["O900003", "C00003", "03/04/2024", "20.00", "completed", "USD"])  # unparseable_timestamp
    orders.append(["O900004", "C00004", "2024-02-30 12:00:00", "20.00", "completed", "USD"])  # unparseable_timestamp
    orders.append(["O900005", "C00005", "2024-04-01 12:00:00", "-15.00", "completed", "USD"])  # negative_amount
    orders.append(["O900006", "C00006", "2024-04-01 12:00:00", "twelve", "completed", "USD"])  # unparseable_number
    orders.append(["O900007", "C00007", "2024-04-01 12:00:00", "30.00", "lost_in_mail", "USD"])  # unknown_status
    orders.append(["O900008", "C00008", "2024-04-01 12:00:00", "3000", "completed", "JPY"])  # missing_fx_rate
    orders.append(["O900009", "C00009", "2099-01-01 00:00:00", "30.00", "completed", "USD"])  # future_dated
    # order_items
    items.append(list(items[5]))  # duplicate_row
    items.append(["O999999", "P001", "1", "10.00"])  # orphan_item
    items.append(["O900005", "P002", "1", "10.00"])  # orphan_item (its order is quarantined)
    items.append([items[40][0], "P003", "-2", "10.00"])  # negative_amount
    items.append([items[41][0], "P004", "two", "10.00"])  # unparseable_number
    items.append([items[42][0], "", "1", "10.00"])  # null_product_id
    # product_costs
    costs.append(list(costs[3]))  # duplicate_row
    costs.append([costs[0][0], costs[0][1], "1.23"])  # conflicting_cost x2
    costs.append(["P010", "someday", "5.00"])  # unparseable_timestamp
    costs.append(["P011", "2023-06-01", "-5.00"])  # negative_amount
    # refunds
    refunds.append(list(refunds[2]))  # duplicate_row
    refunds.append(["R900001", "O999998", "2024-05-01 10:00:00", "5.00"])  # orphan_refund
    refunds.append(["R900002", refunds[4][1], "2024-05-01 10:00:00", "-5.00"])  # negative_amount
    refunds.append(["R900003", refunds[5][1], "yesterday", "5.00"])  # unparseable_timestamp
    refunds.append(["R900004", refunds[6][1], "2099-05-01 10:00:00", "5.00"])  # future_dated
    refunds.append(["", refunds[7][1], "2024-05-01 10:00:00", "5.00"])  # null_refund_id
    # customers
    customers.append(list(customers[1]))  # duplicate_row
    customers.append(
        [customers[2][0], customers[2][1], "other@example.com", "GB", "social"]
    )  # conflicting_customer_id x2
    customers.append(["", "2024-01-01 00:00:00", "nobody@example.com", "US", "social"])  # null_customer_id
    customers.append(["C99999", "31 Feb", "x@example.com", "US", "email"])  # unparseable_timestamp
    # marketing_spend
    spend.append(list(spend[0]))  # duplicate_row
    spend.append(["2024-13-01", "email", "10.00", "USD"])  # unparseable_timestamp
    spend.append(["2024-01-05", "email", "-10.00", "USD"])  # negative_amount
    spend.append(["2024-01-05", "email", "1000", "JPY"])  # missing_fx_rate
    spend.append(["2024-01-05", "", "10.00", "USD"])  # null_channel
    # fx_rates
    fx_rows.append(list(fx_rows[1]))  # duplicate_row
    fx_rows.append([fx_rows[2][0], fx_rows[2][1], "9.99"])  # conflicting_fx_rate x2
    fx_rows.append(["2024-01-08", "CHF", "-1.1"])  # negative_amount
    fx_rows.append(["2024-01-0x", "CHF", "1.1"])  # unparseable_timestamp
    # inventory
    inventory.append(["2022-10-01", "2022-12-31", "abc", "1000", "900"])  # unparseable_number
    inventory.append(["2022-07-01", "2022-06-30", "100", "10", "50"])  # invalid_period


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="seeds/raw", type=Path)
    parser.add_argument("--customers", default=4200, type=int)
    parser.add_argument("--seed", default=42, type=int)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, (header, rows) in generate(args.customers, args.seed).items():
        with open(args.out / f"{name}.csv", "w", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)
        print(f"{name}: {len(rows)} rows")


if __name__ == "__main__":
    main()
