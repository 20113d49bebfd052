"""Per fit x distinct BG/NBD history (x, t_x, T): P(alive), expected purchases over several horizons, and
the expected purchases over clv_horizon_years discounted monthly from the annual discount_rate. Customers
with the same history share these; int_customers_predicted joins them to the customers and adds the
Gamma-Gamma spend (SQL); clv_frequency_recency reads the histories of int_frequency_recency_grid.
Predictions are null where the BG/NBD fit did not converge."""

import numpy as np
import pandas as pd
from scipy.special import expit, hyp2f1

DAYS_PER_MONTH = 365.25 / 12
ELASTICITY_STEP = 1e-5  # forward differences in the log-parameters (error ~ the step: 1e-5 of an elasticity)


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
    return (
        _customer_factor(params, frequency, recency, np.asarray(age, dtype=float))
        * _pair_term(params, t, px, page)[inverse]
    )


def probability_alive(params, frequency, recency, age):
    """P(alive | x, t_x, T) as a logistic of the log-odds (no overflow on long histories)."""
    r, alpha, a, b = params
    x = np.asarray(frequency, dtype=float)
    log_odds = (r + x) * np.log((alpha + age) / (alpha + recency)) + np.log(a / (b + np.maximum(x, 1) - 1))
    return np.where(x == 0, 1.0, expit(-log_odds))


def discounted_purchases(bg, horizon_years, annual_discount, unit_days, frequency, recency, age, pairs):
    """Sum over the months of the horizon of the expected purchases in the month, discounted monthly
    (int_customers_predicted multiplies it by the expected spend and the margin into the predicted CLV).
    The expected purchases factor into a term of the history and a term of (x, T) and t, so the
    discounted monthly increments are summed per (x, T) pair."""
    monthly = (1 + annual_discount) ** (1 / 12) - 1
    step = DAYS_PER_MONTH / unit_days
    px, page, inverse = pairs
    discounted = np.zeros(len(px))
    previous = np.zeros(len(px))
    for month in range(1, 12 * horizon_years + 1):
        cumulative = _pair_term(bg, month * step, px, page)
        discounted += (cumulative - previous) / (1 + monthly) ** month
        previous = cumulative
    return _customer_factor(bg, frequency, recency, age) * discounted[inverse]


def elasticities(prediction, params):
    """d ln(prediction) / d ln(theta_k) for k = 1 .. 4 (r, alpha, a, b): forward differences of
    prediction(params) -> array in the log-parameters. With the fit's covariance of the log-parameters they
    give the delta-method variance of ln(prediction) (int_customers_predicted)."""
    log_params = np.log(np.asarray(params, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        base = np.log(prediction(params))
        columns = []
        for k in range(len(log_params)):
            shifted = log_params.copy()
            shifted[k] += ELASTICITY_STEP
            columns.append((np.log(prediction(tuple(np.exp(shifted)))) - base) / ELASTICITY_STEP)
    return columns


def model(dbt, session):
    dbt.config(materialized="table")
    # the customers' histories and the frequency/recency grid's, once each (a history's predictions depend
    # on the history only)
    # (each dbt.ref on a line of its own: dbt finds a Python model's parents in plain calls only)
    key = ["fit", "frequency", "recency", "customer_age"]
    customer_histories = dbt.ref("int_bgnbd_histories").df()
    grid_histories = dbt.ref("int_frequency_recency_grid").df()
    histories = pd.concat([customer_histories[key], grid_histories[key]], ignore_index=True).drop_duplicates(key)
    fitted = dbt.ref("int_clv_models_fitted").df()
    parameters = dbt.ref("int_parameters").df().iloc[0]
    unit_days = float(parameters["time_unit_days"])
    holdout_days = (pd.Timestamp(parameters["as_of_date"]) - pd.Timestamp(parameters["holdout_start_date"])).days
    horizon = int(parameters["clv_horizon_years"])
    outputs = []
    for fit, frame in histories.groupby("fit"):
        frame = frame.reset_index(drop=True)
        f = np.asarray(frame["frequency"], dtype=float)
        tx = np.asarray(frame["recency"], dtype=float)
        age = np.asarray(frame["customer_age"], dtype=float)
        rows = fitted[(fitted["fit"] == fit) & (fitted["model"] == "bg_nbd")].set_index("parameter")
        bg = (
            tuple(float(rows.loc[n, "value"]) for n in ("r", "alpha", "a", "b"))
            if len(rows) and bool(rows["is_converged"].iloc[0])
            else None
        )
        pairs = distinct_pairs(f, age)
        out = frame[["fit", "frequency", "recency", "customer_age"]].copy()
        nulls = np.full(len(frame), np.nan)
        out["p_alive"] = probability_alive(bg, f, tx, age) if bg else nulls
        for label, days in (
            ("30d", 30),
            ("90d", 90),
            ("365d", 365),
            ("horizon", horizon * 365.25),
            ("holdout", holdout_days),
        ):
            out[f"expected_purchases_{label}"] = (
                expected_purchases(bg, days / unit_days, f, tx, age, pairs) if bg else nulls
            )

        def discounted(params, f=f, tx=tx, age=age, pairs=pairs):
            return discounted_purchases(
                params, horizon, float(parameters["discount_rate"]), unit_days, f, tx, age, pairs
            )

        def next_year(params, f=f, tx=tx, age=age, pairs=pairs):
            return expected_purchases(params, 365 / unit_days, f, tx, age, pairs)

        out["discounted_purchases_horizon"] = discounted(bg) if bg else nulls
        for label, prediction in (("discounted_purchases", discounted), ("expected_purchases_365d", next_year)):
            for k, column in enumerate(elasticities(prediction, bg) if bg else [nulls] * 4, start=1):
                out[f"{label}_elasticity_{k}"] = column
        outputs.append(out)
    columns = [
        "fit",
        "frequency",
        "recency",
        "customer_age",
        "p_alive",
        "expected_purchases_30d",
        "expected_purchases_90d",
        "expected_purchases_365d",
        "expected_purchases_horizon",
        "expected_purchases_holdout",
        "discounted_purchases_horizon",
        *[
            f"{label}_elasticity_{k}"
            for label in ("discounted_purchases", "expected_purchases_365d")
            for k in range(1, 5)
        ],
    ]
    result = pd.concat(outputs, ignore_index=True) if outputs else pd.DataFrame(columns=columns)
    for column in columns[1:]:
        result[column] = result[column].astype(float)
    result["frequency"] = result["frequency"].astype("int64")
    return result[columns]
