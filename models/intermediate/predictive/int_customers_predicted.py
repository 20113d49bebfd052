"""Per fit x customer: BG/NBD P(alive) and expected purchases, Gamma-Gamma expected spend per purchase,
and the predicted CLV (discounted monthly from the annual discount_rate, times the customer's gross
margin, over clv_horizon_years). Predictions are null where the fit did not converge."""

import numpy as np
import pandas as pd
from scipy.special import expit, hyp2f1

DAYS_PER_MONTH = 365.25 / 12


def distinct_pairs(frequency, age):
    """The distinct (x, T) pairs and, per customer, the index of its pair: the 2F1 term of the
    expected purchases depends on x and T only, and customers share few pairs (tens of thousands
    for millions of customers), so it is evaluated once per pair."""
    x = np.asarray(frequency, dtype=float)
    t = np.asarray(age, dtype=float)
    inverse = pd.DataFrame({"x": x, "t": t}).groupby(["x", "t"], sort=False).ngroup().to_numpy()
    px = np.empty(int(inverse.max()) + 1 if len(inverse) else 0)
    page = np.empty_like(px)
    px[inverse] = x
    page[inverse] = t
    return px, page, inverse


def _pair_term(params, t, px, page):
    """1 - 2F1(r+x, b+x; a+b+x-1; z) ((alpha+T) / (alpha+T+t))^(r+x), z = t / (alpha+T+t), per (x, T) pair."""
    r, alpha, a, b = params
    _a, _b, _c = r + px, b + px, a + b + px - 1
    z = t / (alpha + page + t)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ln_hyp = np.log(hyp2f1(_a, _b, _c, z))
        overflowed = ~np.isfinite(ln_hyp)
        if overflowed.any():
            # where 2F1 overflows, the Euler transformation of it
            _ao, _bo, _co, zo = _a[overflowed], _b[overflowed], _c[overflowed], z[overflowed]
            ln_hyp[overflowed] = np.log(hyp2f1(_co - _ao, _co - _bo, _co, zo)) + (_co - _ao - _bo) * np.log1p(-zo)
        return 1 - np.exp(ln_hyp + (r + px) * np.log((alpha + page) / (alpha + page + t)))


def _customer_factor(params, frequency, recency, age):
    """(a+b+x-1)/(a-1) / (1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)), per customer."""
    r, alpha, a, b = params
    x = np.asarray(frequency, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        denominator = 1 + (x > 0) * (a / (b + x - 1)) * np.exp((r + x) * np.log((alpha + age) / (alpha + recency)))
    return (a + b + x - 1) / (a - 1) / denominator


def expected_purchases(params, t, frequency, recency, age, pairs=None):
    """E[purchases in (T, T + t]] for customers with history (x, t_x, T), Fader-Hardie-Lee eq. 10.
    t is one horizon (a scalar); pairs is distinct_pairs(frequency, age), computed once by the caller."""
    t = float(t)
    if t <= 0:
        return np.zeros(np.shape(frequency))
    px, page, inverse = pairs if pairs is not None else distinct_pairs(frequency, age)
    return _customer_factor(params, frequency, recency, np.asarray(age, dtype=float)) * _pair_term(params, t, px, page)[inverse]


def probability_alive(params, frequency, recency, age):
    """P(alive | x, t_x, T) as a logistic of the log-odds (no overflow on long histories)."""
    r, alpha, a, b = params
    x = np.asarray(frequency, dtype=float)
    log_odds = (r + x) * np.log((alpha + age) / (alpha + recency)) + np.log(a / (b + np.maximum(x, 1) - 1))
    return np.where(x == 0, 1.0, expit(-log_odds))


def expected_spend(params, frequency, monetary):
    """Gamma-Gamma E[spend per purchase | x, m]; the population mean for customers without repeats."""
    p, q, v = params
    x = np.asarray(frequency, dtype=float)
    m = np.nan_to_num(np.asarray(monetary, dtype=float))
    weight = p * x / (p * x + q - 1)
    return (1 - weight) * (v * p / (q - 1)) + weight * m


def predicted_clv(bg, gg, frame, horizon_years, annual_discount, unit_days, margin, pairs):
    """Sum over the months of the horizon of the expected purchases in the month x expected spend x
    margin, discounted monthly. The expected purchases factor into a per-customer term and a term of
    (x, T) and t, so the discounted monthly increments are summed per (x, T) pair."""
    monthly = (1 + annual_discount) ** (1 / 12) - 1
    step = DAYS_PER_MONTH / unit_days
    spend = expected_spend(gg, frame["frequency"], frame["monetary_value"])
    px, page, inverse = pairs
    discounted = np.zeros(len(px))
    previous = np.zeros(len(px))
    for month in range(1, 12 * horizon_years + 1):
        cumulative = _pair_term(bg, month * step, px, page)
        discounted += (cumulative - previous) / (1 + monthly) ** month
        previous = cumulative
    factor = _customer_factor(bg, frame["frequency"], frame["recency"], np.asarray(frame["customer_age"], dtype=float))
    return factor * discounted[inverse] * spend * margin


def model(dbt, session):
    dbt.config(materialized="table")
    inputs = dbt.ref("int_customers_bgnbd_inputs").df()
    fitted = dbt.ref("int_clv_models_fitted").df()
    parameters = dbt.ref("int_parameters").df().iloc[0]
    unit_days = float(parameters["time_unit_days"])
    holdout_days = (pd.Timestamp(parameters["as_of_date"]) - pd.Timestamp(parameters["holdout_start_date"])).days
    outputs = []
    for fit, frame in inputs.groupby("fit"):
        frame = frame.reset_index(drop=True)
        f = np.asarray(frame["frequency"], dtype=float)
        tx = np.asarray(frame["recency"], dtype=float)
        age = np.asarray(frame["customer_age"], dtype=float)
        rows = fitted[fitted["fit"] == fit]

        def params(model_name, names):
            sub = rows[rows["model"] == model_name].set_index("parameter")
            if sub.empty or not bool(sub["is_converged"].iloc[0]):
                return None
            return tuple(float(sub.loc[n, "value"]) for n in names)

        bg = params("bg_nbd", ["r", "alpha", "a", "b"])
        gg = params("gamma_gamma", ["p", "q", "gamma"])
        pairs = distinct_pairs(f, age)
        out = pd.DataFrame({"fit": fit, "customer_id": frame["customer_id"]})
        nulls = np.full(len(frame), np.nan)
        out["p_alive"] = probability_alive(bg, f, tx, age) if bg else nulls
        for label, days in (("30d", 30), ("90d", 90), ("365d", 365)):
            out[f"expected_purchases_{label}"] = expected_purchases(bg, days / unit_days, f, tx, age, pairs) if bg else nulls
        horizon = int(parameters["clv_horizon_years"])
        out["expected_purchases_horizon"] = expected_purchases(bg, horizon * 365.25 / unit_days, f, tx, age, pairs) if bg else nulls
        out["expected_purchases_holdout"] = expected_purchases(bg, holdout_days / unit_days, f, tx, age, pairs) if bg else nulls
        out["expected_spend_per_purchase"] = expected_spend(gg, f, frame["monetary_value"]) if gg else nulls
        margin = frame["gross_margin"].fillna(float(parameters["default_gross_margin"])).to_numpy(dtype=float)
        if bg and gg:
            out["predicted_clv"] = predicted_clv(bg, gg, frame, horizon, float(parameters["discount_rate"]), unit_days, margin, pairs)
        else:
            out["predicted_clv"] = nulls
        out["predicted_holdout_revenue"] = out["expected_purchases_holdout"] * out["expected_spend_per_purchase"]
        outputs.append(out)
    columns = ["fit", "customer_id", "p_alive", "expected_purchases_30d", "expected_purchases_90d", "expected_purchases_365d",
               "expected_purchases_horizon", "expected_purchases_holdout", "expected_spend_per_purchase", "predicted_clv",
               "predicted_holdout_revenue"]
    result = pd.concat(outputs, ignore_index=True) if outputs else pd.DataFrame(columns=columns)
    for column in columns[2:]:
        result[column] = result[column].astype(float)
    return result[columns]
