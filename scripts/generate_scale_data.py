"""Scale data generator: the eight raw tables of docs/definitions.md, "Raw inputs" as Parquet, for N orders.

The shop is the demo shop (scripts/generate_demo_data.py) at any size: customers arrive over
2023-2025 through five acquisition channels, buy in four currencies, behave the way BG/NBD assumes,
get refunds, and a small share of bad rows of every quarantine reason is mixed in. Columns are text,
as in the demo CSV files, so bad values (an unparseable date, a number spelled out) survive.

    python scripts/generate_scale_data.py --orders 10000000 --out /tmp/clv_10m

writes, per table, a folder of Parquet files (<out>/<table>/part-00000.parquet, ...), which the project
reads with --vars '{raw_data_dir: <out>}'. With --increment-fraction (default 0.001) it also writes a
next-day delivery to <out>/_increment/<table>/increment-00001.parquet: new orders (from returning and
new customers) on the day after the data, their items, new customers, refunds of recent orders, and
one late order dated two days before the newest order. Copy those files into <out>/<table>/ to
simulate a daily load (bench/scale_benchmark.py does).

Vectorised (numpy + pyarrow): 10M orders take about 25 s on 2 cores; memory stays at one chunk of orders.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

START = np.datetime64("2023-01-01")
END = np.datetime64("2025-12-31")
FX_START = np.datetime64("2022-12-05")  # a Monday, a month before the data
REPORTING = "USD"

CHANNELS = ["paid_search", "social", "email", "referral", "organic"]
CHANNEL_SHARE = np.array([0.30, 0.25, 0.15, 0.10, 0.20])
CHANNEL_RATE = np.array([3.0, 2.2, 5.0, 4.0, 3.5])  # purchases per year while alive
CHANNEL_DROPOUT = np.array([0.35, 0.50, 0.25, 0.20, 0.30])  # dropout chance after a purchase
CHANNEL_AOV = np.array([70.0, 45.0, 60.0, 85.0, 65.0])
CHANNEL_DAILY_SPEND = {"paid_search": 70.0, "social": 55.0, "email": 12.0, "referral": 25.0}  # per 4,200 customers
COUNTRIES = ["US", "GB", "DE", "FR", "CA"]
COUNTRY_SHARE = np.array([0.45, 0.20, 0.15, 0.10, 0.10])
COUNTRY_CURRENCY = np.array([0, 1, 2, 2, 3])  # index into CURRENCIES
CURRENCIES = ["USD", "GBP", "EUR", "CAD"]
BASE_FX = [1.0, 1.27, 1.09, 0.74]
STATUSES = ["completed", "shipped", "placed", "cancelled", "returned"]
STATUS_SHARE = np.array([80, 6, 2, 4, 3]) / 95
N_PRODUCTS = 200
ORDERS_PER_CUSTOMER = 2.27  # what the simulation gives; used to size chunks only
CHUNK_ORDERS = 1_000_000
DEMO_CUSTOMERS = 4200


def text(values) -> pa.Array:
    """Numbers, dates or strings as a pyarrow string array."""
    arr = values if isinstance(values, (pa.Array, pa.ChunkedArray)) else pa.array(values)
    return pc.cast(arr, pa.string())


def prefixed(prefix: str, numbers: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(pa.scalar(prefix), text(numbers), "")


def money(values: np.ndarray) -> pa.Array:
    return text(np.round(values, 2))


def timestamps(seconds: np.ndarray) -> pa.Array:
    """Seconds since START as 'YYYY-MM-DD HH:MM:SS' text."""
    stamps = START.astype("datetime64[s]") + seconds.astype("timedelta64[s]")
    return text(pa.array(stamps, type=pa.timestamp("s")))


class Shop:
    """The fixed parts of the shop: prices, costs, FX rates."""

    def __init__(self, rng: np.random.Generator):
        self.prices = np.round(rng.uniform(8, 60, N_PRODUCTS), 2)
        self.weeks = int((END - FX_START).astype(int) // 7) + 2  # one more week for the increment
        steps = rng.normal(0, 0.01, (len(CURRENCIES), self.weeks))
        steps[0] = 0.0
        self.fx = np.maximum(0.3, np.array(BASE_FX)[:, None] * np.exp(np.cumsum(steps, axis=1)))
        self.fx[0] = 1.0
        self.cost = np.round(self.prices * rng.uniform(0.35, 0.6, N_PRODUCTS), 2)
        self.cost_change = np.round(self.cost * rng.uniform(1.05, 1.2, N_PRODUCTS), 2)

    def fx_rate(self, currency: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Rate of the Monday on or before each day (days since START)."""
        week = (day + int((START - FX_START).astype(int))) // 7
        return self.fx[currency, week]

    def small_tables(self, n_customers: int, rng: np.random.Generator) -> dict[str, pa.Table]:
        tables = {}
        rate_rows = [
            (str(FX_START + 7 * w), CURRENCIES[c], f"{self.fx[c, w]:.6f}")
            for c in range(1, len(CURRENCIES))
            for w in range(self.weeks)
        ]
        tables["fx_rates"] = rows_table(["rate_date", "currency", "rate_to_reporting"], rate_rows)
        cost_rows = []
        for p in range(N_PRODUCTS):
            if p % 20 == 19:  # a few products never get a cost: the default margin applies
                continue
            cost_rows.append((f"P{p:03d}", "2022-01-01", f"{self.cost[p]:.2f}"))
            if p % 4 != 0:
                cost_rows.append((f"P{p:03d}", "2024-07-01", f"{self.cost_change[p]:.2f}"))
        tables["product_costs"] = rows_table(["product_id", "valid_from", "unit_cost"], cost_rows)
        scale = n_customers / DEMO_CUSTOMERS
        spend_rows = []
        day = START
        while day <= END:
            doy = (day - day.astype("datetime64[Y]")).astype(int) + 1
            for ch, daily in CHANNEL_DAILY_SPEND.items():
                amount = daily * scale * rng.uniform(0.6, 1.4) * (1 + 0.2 * np.sin(doy / 58.0))
                if ch == "social":
                    week = int((day - FX_START).astype(int)) // 7
                    spend_rows.append((str(day), ch, f"{amount / self.fx[2, week]:.2f}", "EUR"))
                else:
                    spend_rows.append((str(day), ch, f"{amount:.2f}", "USD"))
            day = day + 1
        tables["marketing_spend"] = rows_table(["spend_date", "channel", "amount", "currency"], spend_rows)
        inventory_rows = []
        level = 40000.0 * scale
        for year in (2023, 2024, 2025):
            for q in range(4):
                ps = dt.date(year, 3 * q + 1, 1)
                pe = (dt.date(year + (q == 3), (3 * q + 4) % 12 or 12, 1)) - dt.timedelta(days=1)
                purchases = rng.uniform(22000, 34000) * scale
                ending = level + purchases - rng.uniform(21000, 33000) * scale
                inventory_rows.append(
                    (ps.isoformat(), pe.isoformat(), f"{level:.2f}", f"{purchases:.2f}", f"{ending:.2f}")
                )
                level = ending
        tables["inventory"] = rows_table(
            ["period_start", "period_end", "beginning_inventory", "purchases", "ending_inventory"], inventory_rows
        )
        return tables


def rows_table(columns: list[str], rows: list[tuple]) -> pa.Table:
    return pa.table({c: pa.array([r[i] for r in rows], pa.string()) for i, c in enumerate(columns)})


def simulate_customers(n: int, first_id: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    span = int((END - START).astype(int))
    channel = rng.choice(len(CHANNELS), n, p=CHANNEL_SHARE)
    country = rng.choice(len(COUNTRIES), n, p=COUNTRY_SHARE)
    lam = rng.gamma(2.0, CHANNEL_RATE[channel] / 2.0)
    first = (rng.random(n) ** 0.9 * span).astype(np.int64)
    created = first - rng.integers(0, 21, n)
    return {
        "id": np.arange(first_id, first_id + n),
        "channel": channel,
        "country": country,
        "currency": COUNTRY_CURRENCY[country],
        "lam": lam,
        "first": first,
        "created": created,
        "dropout": CHANNEL_DROPOUT[channel],
        "aov": CHANNEL_AOV[channel],
    }


def simulate_orders(cust: dict, last_day: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Purchases of each customer while alive, up to last_day (days since START)."""
    n = len(cust["id"])
    count = rng.geometric(cust["dropout"])  # purchases before dropping out
    owner = np.repeat(np.arange(n), count)
    start_of = np.cumsum(count) - count
    k = np.arange(len(owner)) - start_of[owner]
    gap = np.maximum(
        1, (rng.exponential(1.0, len(owner)) / np.maximum(cust["lam"][owner], 1e-9) * 365).astype(np.int64)
    )
    gap[k == 0] = 0
    total = np.cumsum(gap)
    day = cust["first"][owner] + total - total[start_of[owner]]
    keep = day <= last_day
    return {"owner": owner[keep], "day": day[keep]}


def build_orders(
    shop: Shop,
    cust: dict,
    owner: np.ndarray,
    day: np.ndarray,
    first_order: int,
    first_refund: int,
    delivery_day: int,
    rng: np.random.Generator,
):
    """Orders, items and refunds (pyarrow tables) for purchases (owner index into cust, day); refunds
    dated after delivery_day (days since START) are not delivered yet."""
    n = len(owner)
    seq = np.arange(first_order, first_order + n)
    seconds = day * 86400 + rng.integers(0, 86400, n)
    currency = cust["currency"][owner]
    rate = shop.fx_rate(currency, day)
    n_items = rng.choice([1, 1, 1, 2, 2, 3], n)
    item_order = np.repeat(np.arange(n), n_items)
    item_k = np.arange(len(item_order)) - (np.cumsum(n_items) - n_items)[item_order]
    product = (rng.integers(0, N_PRODUCTS, n)[item_order] + item_k * 37) % N_PRODUCTS  # distinct within an order
    qty = rng.choice([1, 1, 1, 2, 3], len(item_order))
    unit_usd = shop.prices[product] * (cust["aov"][owner][item_order] / 65.0)
    total_usd = np.bincount(item_order, weights=qty * unit_usd, minlength=n)
    discount = rng.choice([0.0, 0.0, 0.0, 0.1, 0.2], n)
    total_local = np.round(total_usd * (1 - discount) / rate, 2)
    status = rng.choice(len(STATUSES), n, p=STATUS_SHARE)
    status_text = np.array(STATUSES, dtype=object)[status]
    shouty = seq % 11 == 0
    status_text[shouty] = [s.upper() for s in status_text[shouty]]
    currency_text = np.array(CURRENCIES, dtype=object)[currency]
    currency_text[(currency == 0) & (seq % 5 == 0)] = None
    orders = pa.table(
        {
            "order_id": prefixed("O", seq),
            "customer_id": prefixed("C", cust["id"][owner]),
            "ordered_at": timestamps(seconds),
            "order_total": money(total_local),
            "status": pa.array(status_text, pa.string()),
            "currency": pa.array(currency_text, pa.string()),
        }
    )
    with_items = (seq % 31 != 0)[item_order]  # about 3% of orders arrive without item lines
    items = pa.table(
        {
            "order_id": prefixed("O", seq[item_order][with_items]),
            "product_id": pc.binary_join_element_wise(
                pa.scalar("P"), pc.utf8_lpad(text(product[with_items]), 3, "0"), ""
            ),
            "quantity": text(qty[with_items]),
            "unit_price": money((unit_usd / rate[item_order])[with_items]),
        }
    )
    returned = status == 4
    partial = (status != 3) & ~returned & (rng.random(n) < 0.05)
    refunded = np.flatnonzero(returned | partial)
    share = np.where(returned[refunded], 1.0, rng.uniform(0.1, 0.5, len(refunded)))
    lag = np.where(returned[refunded], rng.integers(3, 21, len(refunded)), rng.integers(1, 31, len(refunded)))
    delivered = seconds[refunded] + lag * 86400 < (delivery_day + 1) * 86400  # refunds after the delivery come later
    refunded, share, lag = refunded[delivered], share[delivered], lag[delivered]
    refunds = pa.table(
        {
            "refund_id": prefixed("R", np.arange(first_refund, first_refund + len(refunded))),
            "order_id": prefixed("O", seq[refunded]),
            "refunded_at": timestamps(seconds[refunded] + lag * 86400),
            "amount": money(total_local[refunded] * share),
        }
    )
    return orders, items, refunds


def customers_table(cust: dict, rng: np.random.Generator) -> pa.Table:
    keep = cust["id"] % 97 != 0  # a few buyers are missing from the customers table: channel "unknown"
    seconds = cust["created"][keep] * 86400 + 9 * 3600 + (cust["id"][keep] % 60) * 60
    ids = cust["id"][keep]
    return pa.table(
        {
            "customer_id": prefixed("C", ids),
            "created_at": timestamps(seconds),
            "email": pc.binary_join_element_wise(pa.scalar("user"), text(ids), pa.scalar("@example.com"), ""),
            "country": pa.array(np.array(COUNTRIES, dtype=object)[cust["country"][keep]], pa.string()),
            "acquisition_channel": pa.array(np.array(CHANNELS, dtype=object)[cust["channel"][keep]], pa.string()),
        }
    )


def bad_rows(
    orders: pa.Table, items: pa.Table, refunds: pa.Table, customers: pa.Table, tag: int
) -> dict[str, pa.Table]:
    """Bad rows of every kind for one chunk, built from its own good rows (ids unique per tag)."""
    o = orders.slice(0, 40).to_pylist()
    i = items.slice(0, 10).to_pylist()
    r = refunds.slice(0, 10).to_pylist() if refunds.num_rows >= 10 else []
    c = customers.slice(0, 5).to_pylist()
    x = f"X{tag}"
    bad_orders = [
        o[10],
        o[20],
        o[20],  # duplicate_row
        {**o[30], "order_total": "999.99"},  # conflicting_order_id (x2 with the original)
        {
            "order_id": f"O{x}1",
            "customer_id": None,
            "ordered_at": "2024-03-01 10:00:00",
            "order_total": "50.00",
            "status": "completed",
            "currency": "USD",
        },
        {
            "order_id": None,
            "customer_id": "C1",
            "ordered_at": "2024-03-02 10:00:00",
            "order_total": "20.00",
            "status": "completed",
            "currency": "USD",
        },
        {
            "order_id": f"O{x}3",
            "customer_id": "C3",
            "ordered_at": "03/04/2024",
            "order_total": "20.00",
            "status": "completed",
            "currency": "USD",
        },
        {
            "order_id": f"O{x}5",
            "customer_id": "C5",
            "ordered_at": "2024-04-01 12:00:00",
            "order_total": "-15.00",
            "status": "completed",
            "currency": "USD",
        },
        {
            "order_id": f"O{x}6",
            "customer_id": "C6",
            "ordered_at": "2024-04-01 12:00:00",
            "order_total": "twelve",
            "status": "completed",
            "currency": "USD",
        },
        {
            "order_id": f"O{x}7",
            "customer_id": "C7",
            "ordered_at": "2024-04-01 12:00:00",
            "order_total": "30.00",
            "status": "lost_in_mail",
            "currency": "USD",
        },
        {
            "order_id": f"O{x}8",
            "customer_id": "C8",
            "ordered_at": "2024-04-01 12:00:00",
            "order_total": "3000",
            "status": "completed",
            "currency": "JPY",
        },
        {
            "order_id": f"O{x}9",
            "customer_id": "C9",
            "ordered_at": "2099-01-01 00:00:00",
            "order_total": "30.00",
            "status": "completed",
            "currency": "USD",
        },
    ]
    bad_items = [
        i[5],  # duplicate_row
        {"order_id": f"O{x}99", "product_id": "P001", "quantity": "1", "unit_price": "10.00"},  # orphan_item
        {"order_id": i[6]["order_id"], "product_id": "P199", "quantity": "-2", "unit_price": "10.00"},
        {"order_id": i[7]["order_id"], "product_id": "P198", "quantity": "two", "unit_price": "10.00"},
        {"order_id": i[8]["order_id"], "product_id": None, "quantity": "1", "unit_price": "10.00"},
    ]
    bad_refunds = [
        {
            "refund_id": f"R{x}1",
            "order_id": f"O{x}98",
            "refunded_at": "2024-05-01 10:00:00",
            "amount": "5.00",
        },  # orphan_refund
    ]
    if r:
        bad_refunds += [
            r[2],  # duplicate_row
            {
                "refund_id": f"R{x}2",
                "order_id": r[4]["order_id"],
                "refunded_at": "2024-05-01 10:00:00",
                "amount": "-5.00",
            },
            {"refund_id": f"R{x}3", "order_id": r[5]["order_id"], "refunded_at": "yesterday", "amount": "5.00"},
            {
                "refund_id": f"R{x}4",
                "order_id": r[6]["order_id"],
                "refunded_at": "2099-05-01 10:00:00",
                "amount": "5.00",
            },
        ]
    bad_customers = [
        c[1],  # duplicate_row
        {**c[2], "email": "other@example.com", "country": "GB"},  # conflicting_customer_id
        {
            "customer_id": f"C{x}9",
            "created_at": "31 Feb",
            "email": "x@example.com",
            "country": "US",
            "acquisition_channel": "email",
        },
    ]
    return {
        "orders": pa.Table.from_pylist(bad_orders, schema=orders.schema),
        "order_items": pa.Table.from_pylist(bad_items, schema=items.schema),
        "refunds": pa.Table.from_pylist(bad_refunds, schema=refunds.schema),
        "customers": pa.Table.from_pylist(bad_customers, schema=customers.schema),
    }


def write(out: Path, table_name: str, file_name: str, table: pa.Table) -> None:
    folder = out / table_name
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / file_name, row_group_size=256 * 1024)


def generate(n_orders: int, out: Path, seed: int, increment_fraction: float) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    shop = Shop(rng)
    if out.exists():
        shutil.rmtree(out)
    last_day = int((END - START).astype(int))
    counts = dict.fromkeys(("orders", "order_items", "refunds", "customers"), 0)
    next_customer, next_order, next_refund, part = 1, 1, 1, 0
    kept_customers = []  # a sample of customers for the increment's returning buyers
    while counts["orders"] < n_orders:
        want = min(CHUNK_ORDERS, n_orders - counts["orders"])
        cust = simulate_customers(int(want / ORDERS_PER_CUSTOMER) + 100, next_customer, rng)
        purchases = simulate_orders(cust, last_day, rng)
        order_ix = np.argsort(purchases["owner"], kind="stable")[:want]
        owner, day = purchases["owner"][order_ix], purchases["day"][order_ix]
        used = np.unique(owner)  # customers that bought in this chunk (plus every one not cut off)
        orders, items, refunds = build_orders(shop, cust, owner, day, next_order, next_refund, last_day, rng)
        customers = customers_table({k: v[used] for k, v in cust.items()}, rng)
        bad = bad_rows(orders, items, refunds, customers, part)
        for name, table in (("orders", orders), ("order_items", items), ("refunds", refunds), ("customers", customers)):
            table = pa.concat_tables([table, bad[name]])
            write(out, name, f"part-{part:05d}.parquet", table)
            counts[name] += table.num_rows
        kept_customers.append({k: v[used[:: max(1, len(used) // 2000)]] for k, v in cust.items()})
        next_customer += len(cust["id"])
        next_order += len(owner)
        next_refund += refunds.num_rows
        part += 1
    for name, table in shop.small_tables(next_customer - 1, rng).items():
        write(out, name, "part-00000.parquet", table)
        counts[name] = table.num_rows
    if increment_fraction > 0:
        counts.update(
            write_increment(
                shop,
                out,
                counts["orders"],
                increment_fraction,
                kept_customers,
                next_customer,
                next_order,
                next_refund,
                rng,
            )
        )
    return counts


def write_increment(shop, out, n_orders, fraction, kept, next_customer, next_order, next_refund, rng) -> dict[str, int]:
    """A next-day delivery: new orders (returning and new customers), their items and new customers,
    refunds of orders of the last weeks, and one order arriving late (two days before the newest)."""
    day = int((END - START).astype(int)) + 1
    n_new = max(10, int(n_orders * fraction))
    returning = {k: np.concatenate([c[k] for c in kept]) for k in kept[0]}
    new = simulate_customers(n_new // 3, next_customer, rng)
    new["first"][:] = day
    new["created"][:] = day
    cust = {k: np.concatenate([returning[k], new[k]]) for k in returning}
    owner = np.concatenate(
        [
            rng.integers(0, len(returning["id"]), n_new - len(new["id"])),
            len(returning["id"]) + np.arange(len(new["id"])),
        ]
    )
    days = np.full(len(owner), day)
    days[0] = day - 3  # arrives late: dated two days before the newest order of the base data
    orders, items, refunds = build_orders(shop, cust, owner, days, next_order, next_refund, day, rng)
    # refunds of older orders (placed up to 40 days before), refunded on the new day
    old = rng.integers(max(1, next_order - 40 * n_new), next_order, max(3, n_new // 20))
    late_refunds = pa.table(
        {
            "refund_id": prefixed(
                "R", np.arange(next_refund + refunds.num_rows, next_refund + refunds.num_rows + len(old))
            ),
            "order_id": prefixed("O", old),
            "refunded_at": timestamps(np.full(len(old), day * 86400 + 3600)),
            "amount": money(rng.uniform(1, 5, len(old))),
        }
    )
    tables = {
        "orders": orders,
        "order_items": items,
        "refunds": pa.concat_tables([refunds, late_refunds]),
        "customers": customers_table(new, rng),
    }
    counts = {}
    for name, table in tables.items():
        write(out / "_increment", name, "increment-00001.parquet", table)
        counts[f"increment_{name}"] = table.num_rows
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders in the base data (before bad rows)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--increment-fraction",
        type=float,
        default=0.001,
        help="new orders of the next-day delivery, as a share of --orders (0: none)",
    )
    args = parser.parse_args()
    counts = generate(args.orders, args.out, args.seed, args.increment_fraction)
    for name, rows in counts.items():
        print(f"{name}: {rows:,} rows")


if __name__ == "__main__":
    main()
