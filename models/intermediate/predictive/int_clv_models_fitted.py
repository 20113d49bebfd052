"""BG/NBD (Fader, Hardie & Lee 2005) and Gamma-Gamma (Fader, Hardie & Lee 2005b) fitted by maximum
likelihood, for the 'full' and the 'calibration' cut-offs of int_customers_bgnbd_inputs.

Grain of the output: fit x model x parameter. Numerics follow the published likelihoods: the fit runs
on log-parameters within bounds, the BG/NBD likelihood uses log-sum-exp, and customers with the same
(frequency, recency, T) are fitted once with a weight (Fader & Hardie's compression).
The functions are importable without dbt (the benchmark and the checks use them).
"""

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import digamma, gammaln

LOG_BOUNDS = (-12.0, 12.0)  # every parameter in [6e-6, 1.6e5]
MIN_CUSTOMERS = 10
GRADIENT_TOLERANCE = 1e-5
MIN_REPEAT_CUSTOMERS = 3


def compress(columns):
    """Unique rows of the given arrays and how often each occurs (Fader & Hardie's compression), in
    sorted order: the likelihood then sums in the same order whatever order the rows arrive in, and
    the fit is the same to the last bit on the same data."""
    counts = pd.DataFrame({i: np.asarray(c, dtype=float) for i, c in enumerate(columns)}).value_counts(sort=False).sort_index()
    return [counts.index.get_level_values(i).to_numpy(dtype=float) for i in range(len(columns))], counts.to_numpy(dtype=float)


def _distinct(values):
    """Distinct values and, per row, the position of its value: transcendental functions then run on the
    few distinct values (frequencies, and recency/T in whole days) instead of on every row."""
    unique, inverse = np.unique(values, return_inverse=True)
    return unique, inverse


def prepare(*columns):
    """Each column with its distinct values and inverse positions, computed once per fit."""
    return tuple((np.asarray(c, dtype=float),) + _distinct(c) for c in columns)


def bgnbd_negative_log_likelihood(log_params, frequency, recency, age, weights):
    """-mean(weights x log L) of BG/NBD (log-sum-exp form) and its gradient in the log-parameters.
    frequency, recency and age are prepare()d columns: (values, distinct values, inverse positions)."""
    r, alpha, a, b = np.exp(log_params)
    x, xu, ix = frequency
    _, tu, it = recency
    _, au, ia = age
    repeat = x > 0
    # per distinct frequency
    base = gammaln(r + xu) - gammaln(r) + gammaln(a + b) + gammaln(b + xu) - gammaln(b) - gammaln(a + b + xu)
    log_bx1 = np.log(np.where(xu > 0, b + xu - 1, 1.0))
    dg_rx = digamma(r + xu) - digamma(r)
    dg_ab = digamma(a + b) - digamma(a + b + xu)
    dg_b = digamma(b + xu) - digamma(b)
    inv_bx1 = np.where(xu > 0, 1 / np.where(xu > 0, b + xu - 1, 1.0), 0.0)
    # per distinct T and t_x
    log_at, inv_at = np.log(alpha + au), 1 / (alpha + au)
    log_atx, inv_atx = np.log(alpha + tu), 1 / (alpha + tu)
    rx = r + x
    a3 = -rx * log_at[ia]
    a4 = np.where(repeat, np.log(a) - log_bx1[ix] - rx * log_atx[it], -np.inf)
    tail = np.logaddexp(a3, a4)
    w3 = np.exp(a3 - tail)
    w4 = 1.0 - w3
    ll = base[ix] + r * np.log(alpha) + tail
    d_r = dg_rx[ix] + np.log(alpha) - w3 * log_at[ia] - w4 * log_atx[it]
    d_alpha = r / alpha - rx * (w3 * inv_at[ia] + w4 * inv_atx[it])
    d_a = dg_ab[ix] + w4 / a
    d_b = dg_ab[ix] + dg_b[ix] - w4 * inv_bx1[ix]
    total = np.sum(weights)
    value = -np.dot(weights, ll) / total
    gradient = -np.array([np.dot(weights, d) for d in (d_r, d_alpha, d_a, d_b)]) * np.array([r, alpha, a, b]) / total
    return value, gradient


def gamma_gamma_negative_log_likelihood(log_params, frequency, monetary, weights):
    """-mean(weights x log L) of Gamma-Gamma per repeat customer and its gradient in the log-parameters.
    monetary is (m, log m, log x): the logarithms that do not depend on the parameters, computed once."""
    p, q, v = np.exp(log_params)
    x, xu, ix = frequency
    m, log_m, log_x = monetary
    per_x = gammaln(p * xu + q) - gammaln(p * xu) - gammaln(q)
    dg_pxq = digamma(p * xu + q)
    dg_px = digamma(p * xu)
    px = p * x
    log_xmv = np.log(x * m + v)
    ll = per_x[ix] + q * np.log(v) + (px - 1) * log_m + px * log_x - (px + q) * log_xmv
    d_p = x * (dg_pxq[ix] - dg_px[ix] + log_m + log_x - log_xmv)
    d_q = dg_pxq[ix] - digamma(q) + np.log(v) - log_xmv
    d_v = q / v - (px + q) / (x * m + v)
    total = np.sum(weights)
    gradient = -np.array([np.dot(weights, d) for d in (d_p, d_q, d_v)]) * np.array([p, q, v]) / total
    return -np.dot(weights, ll) / total, gradient


def _optimise(objective, args, x0):
    """L-BFGS-B within the bounds, then an unbounded BFGS polish; the next start only if the first fails."""
    best = None
    for start in x0:
        result = minimize(objective, np.array(start, dtype=float), args=args, jac=True, method="L-BFGS-B",
                          bounds=[LOG_BOUNDS] * len(start), options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-12})
        polished = minimize(objective, result.x, args=args, jac=True, method="BFGS", options={"gtol": 1e-11, "maxiter": 5000})
        if polished.fun <= result.fun and np.all(np.isfinite(polished.x)) and np.all(np.abs(polished.x) < LOG_BOUNDS[1]):
            result = polished
        if best is None or result.fun < best.fun:
            best = result
        if _verdict(best, ["p"] * len(start))[0]:
            break
    return best


def _verdict(result, names):
    """Converged when the gradient of the mean log-likelihood vanishes (line searches at machine
    precision end with a 'failure' message at the optimum) and no parameter sits on a bound."""
    at_bound = [n for n, v in zip(names, result.x) if min(abs(v - LOG_BOUNDS[0]), abs(v - LOG_BOUNDS[1])) < 1e-6]
    gradient = float(np.max(np.abs(result.jac))) if np.all(np.isfinite(result.jac)) else np.inf
    if gradient > GRADIENT_TOLERANCE:
        return False, f"optimizer did not converge (max |gradient| {gradient:.2e}): {result.message}"
    if at_bound:
        return False, "parameter(s) at the search bound: " + ", ".join(at_bound)
    return True, "converged"


def fit_bgnbd(frequency, recency, age):
    """Returns dict(params=(r, alpha, a, b) or None, log_likelihood, customers, converged, message)."""
    frequency = np.asarray(frequency, dtype=float)
    recency = np.asarray(recency, dtype=float)
    age = np.asarray(age, dtype=float)
    n = len(frequency)
    if n < MIN_CUSTOMERS:
        return dict(params=None, log_likelihood=None, customers=n, converged=False,
                    message=f"too few customers to fit: {n} (at least {MIN_CUSTOMERS})")
    repeaters = int((frequency > 0).sum())
    if repeaters < MIN_REPEAT_CUSTOMERS:
        return dict(params=None, log_likelihood=None, customers=n, converged=False,
                    message=f"too few repeat buyers to fit: {repeaters} (at least {MIN_REPEAT_CUSTOMERS})")
    (x, tx, t), weights = compress([frequency, recency, age])
    # the start from the sorted, compressed rows: a mean over the rows in arrival order differs in the
    # last bit from run to run, and on a flat likelihood that moves the optimum found by ~1e-5
    scale = max(float(np.dot(weights, t) / np.sum(weights)), 1e-3)
    starts = [[0.0, np.log(scale), 0.0, 0.0], [np.log(0.25), np.log(scale), np.log(0.8), np.log(2.5)]]
    result = _optimise(bgnbd_negative_log_likelihood, prepare(x, tx, t) + (weights,), starts)
    converged, message = _verdict(result, ["r", "alpha", "a", "b"])
    return dict(params=tuple(np.exp(result.x)), log_likelihood=-float(result.fun) * n, customers=n, converged=converged, message=message)


def fit_gamma_gamma(frequency, monetary):
    """Fitted on repeat customers (frequency > 0, monetary > 0): dict(params=(p, q, v) or None, ...)."""
    frequency = np.asarray(frequency, dtype=float)
    monetary = np.asarray(monetary, dtype=float)
    keep = (frequency > 0) & np.isfinite(monetary) & (monetary > 0)
    x, m = frequency[keep], monetary[keep]
    n = len(x)
    if n < MIN_REPEAT_CUSTOMERS or np.unique(m).size < 2:
        return dict(params=None, log_likelihood=None, customers=n, converged=False,
                    message=f"too few repeat buyers with distinct spend to fit: {n} (at least {MIN_REPEAT_CUSTOMERS})")
    (xu, mu), weights = compress([x, m])
    mean_m = float(np.dot(weights, mu) / np.sum(weights))  # from the sorted rows, as above
    starts = [[0.0, 0.0, np.log(mean_m)], [np.log(5.0), np.log(3.0), np.log(mean_m)]]
    result = _optimise(gamma_gamma_negative_log_likelihood, prepare(xu) + ((mu, np.log(mu), np.log(xu)), weights), starts)
    converged, message = _verdict(result, ["p", "q", "gamma"])
    if converged and np.exp(result.x[1]) <= 1:
        converged, message = False, "q <= 1: the expected spend per purchase is undefined"
    return dict(params=tuple(np.exp(result.x)), log_likelihood=-float(result.fun) * n, customers=n, converged=converged, message=message)


def fit_rows(fit, cutoff_date, inputs):
    rows = []
    bg = fit_bgnbd(inputs["frequency"], inputs["recency"], inputs["customer_age"])
    gg = fit_gamma_gamma(inputs["frequency"], inputs["monetary_value"])
    for model_name, result, names in (("bg_nbd", bg, ["r", "alpha", "a", "b"]), ("gamma_gamma", gg, ["p", "q", "gamma"])):
        for i, name in enumerate(names):
            rows.append({
                "fit": fit,
                "model": model_name,
                "parameter": name,
                "value": None if result["params"] is None else float(result["params"][i]),
                "log_likelihood": result["log_likelihood"],
                "customers_used": int(result["customers"]),
                "is_converged": bool(result["converged"]),
                "convergence_message": result["message"],
                "cutoff_date": cutoff_date,
            })
    return rows


def model(dbt, session):
    dbt.config(materialized="table")
    inputs = dbt.ref("int_customers_bgnbd_inputs").df()
    rows = []
    for fit in ("full", "calibration"):
        subset = inputs[inputs["fit"] == fit]
        cutoff = subset["cutoff_date"].iloc[0] if len(subset) else None
        rows += fit_rows(fit, cutoff, subset)
    frame = pd.DataFrame(rows)
    frame["cutoff_date"] = pd.to_datetime(frame["cutoff_date"]).dt.date
    frame["value"] = frame["value"].astype(float)
    frame["log_likelihood"] = frame["log_likelihood"].astype(float)
    return frame
