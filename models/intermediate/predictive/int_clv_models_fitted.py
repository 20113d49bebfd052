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
    """Unique rows of the given arrays and how often each occurs."""
    stacked = np.column_stack(columns)
    unique, counts = np.unique(stacked, axis=0, return_counts=True)
    return [unique[:, i] for i in range(unique.shape[1])], counts.astype(float)


def bgnbd_negative_log_likelihood(log_params, frequency, recency, age, weights):
    """-sum(weights x log L) of BG/NBD (log-sum-exp form) and its gradient in the log-parameters."""
    r, alpha, a, b = np.exp(log_params)
    x = frequency
    repeat = x > 0
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + age)
    a4 = np.where(repeat, np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + recency), -np.inf)
    tail = np.logaddexp(a3, a4)
    w3 = np.exp(a3 - tail)
    w4 = 1.0 - w3
    d_r = digamma(r + x) - digamma(r) + np.log(alpha) - w3 * np.log(alpha + age) - w4 * np.log(alpha + recency)
    d_alpha = r / alpha - w3 * (r + x) / (alpha + age) - w4 * (r + x) / (alpha + recency)
    d_a = digamma(a + b) - digamma(a + b + x) + w4 / a
    d_b = digamma(a + b) + digamma(b + x) - digamma(b) - digamma(a + b + x) - w4 / np.where(repeat, b + x - 1, 1.0)
    total = np.sum(weights)
    value = -np.sum(weights * (a1 + a2 + tail)) / total
    gradient = -np.array([np.sum(weights * d) for d in (d_r, d_alpha, d_a, d_b)]) * np.array([r, alpha, a, b]) / total
    return value, gradient


def gamma_gamma_negative_log_likelihood(log_params, frequency, monetary, weights):
    """-sum(weights x log L) of Gamma-Gamma per repeat customer and its gradient in the log-parameters."""
    p, q, v = np.exp(log_params)
    x, m = frequency, monetary
    ll = (gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v) + (p * x - 1) * np.log(m)
          + (p * x) * np.log(x) - (p * x + q) * np.log(x * m + v))
    d_p = x * (digamma(p * x + q) - digamma(p * x) + np.log(m) + np.log(x) - np.log(x * m + v))
    d_q = digamma(p * x + q) - digamma(q) + np.log(v) - np.log(x * m + v)
    d_v = q / v - (p * x + q) / (x * m + v)
    total = np.sum(weights)
    gradient = -np.array([np.sum(weights * d) for d in (d_p, d_q, d_v)]) * np.array([p, q, v]) / total
    return -np.sum(weights * ll) / total, gradient


def _optimise(objective, args, x0):
    """L-BFGS-B within the bounds from each start, then an unbounded BFGS polish of the best point."""
    best = None
    for start in x0:
        result = minimize(objective, np.array(start, dtype=float), args=args, jac=True, method="L-BFGS-B",
                          bounds=[LOG_BOUNDS] * len(start), options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-12})
        if best is None or result.fun < best.fun:
            best = result
    polished = minimize(objective, best.x, args=args, jac=True, method="BFGS", options={"gtol": 1e-11, "maxiter": 5000})
    if polished.fun <= best.fun and np.all(np.isfinite(polished.x)) and np.all(np.abs(polished.x) < LOG_BOUNDS[1]):
        return polished
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
    scale = max(float(np.mean(age)), 1e-3)
    starts = [[0.0, np.log(scale), 0.0, 0.0], [np.log(0.25), np.log(scale), np.log(0.8), np.log(2.5)]]
    result = _optimise(bgnbd_negative_log_likelihood, (x, tx, t, weights), starts)
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
    starts = [[0.0, 0.0, np.log(np.mean(m))], [np.log(5.0), np.log(3.0), np.log(np.mean(m))]]
    result = _optimise(gamma_gamma_negative_log_likelihood, (xu, mu, weights), starts)
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
