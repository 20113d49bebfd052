"""BG/NBD (Fader, Hardie & Lee 2005) and Gamma-Gamma (Fader, Hardie & Lee 2005b) fitted by maximum
likelihood, for the 'full' and the 'calibration' cut-offs of int_customers_bgnbd_inputs.

Grain of the output: fit x model x parameter. Numerics follow the published likelihoods: the fit runs
on log-parameters within bounds, the BG/NBD likelihood uses log-sum-exp, and customers with the same
(frequency, recency, T) are fitted once with a weight (Fader & Hardie's compression). The covariance of
the log-parameter estimates is the inverse of the observed information (the Hessian of the total negative
log-likelihood at the optimum, by central differences of the analytic gradient, Richardson-extrapolated).
The functions are importable without dbt (the benchmark and the checks use them).
"""

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import digamma, gammaln

LOG_BOUNDS = (-12.0, 12.0)  # every parameter in [6e-6, 1.6e5]
MIN_CUSTOMERS = 10
GRADIENT_TOLERANCE = 1e-5
POLISH_ABOVE = 1e-7  # the BFGS polish runs only when L-BFGS-B stops with a larger gradient (elsewhere it moves nothing)
MIN_REPEAT_CUSTOMERS = 3
HESSIAN_STEP = 4e-3  # in log-parameters: central differences at this step and half of it, Richardson-combined
MAX_PARAMETERS = 4  # log_covariance_1 .. log_covariance_4: a row's covariance with each of its model's parameters


def _groups(*columns):
    """Per row, the index of its distinct combination of the columns, and those combinations, in sorted
    (lexicographic) order. The combination code is re-numbered after each column, so it stays below
    the number of rows."""
    code = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        values, inverse = np.unique(np.asarray(column, dtype=float), return_inverse=True)
        _, first, code = np.unique(code * len(values) + inverse.reshape(-1), return_index=True, return_inverse=True)
        code = code.reshape(-1)
    return code, [np.asarray(column, dtype=float)[first] for column in columns]  # first: a row of each combination


def compress(columns, weights=None):
    """Unique rows of the given arrays and how many customers each stands for (Fader & Hardie's
    compression; weights: customers per row when the rows come compressed already, else 1), in sorted
    order: the likelihood then sums in the same order whatever order the rows arrive in, and the fit is
    the same to the last bit on the same data."""
    inverse, unique = _groups(*columns)
    weights = np.ones(len(inverse)) if weights is None else np.asarray(weights, dtype=float)
    return unique, np.bincount(inverse, weights, len(unique[0]))


def prepare_bgnbd(x, recency, age, weights):
    """What the BG/NBD likelihood needs that does not depend on the parameters, computed once per fit
    from the compressed rows: the terms of a row depend on (x, T) and on (x, t_x), and customers share
    few of those pairs, so the parameters meet the data per pair, and the per-row sums of the
    gradient are gathered per pair (np.bincount) instead of being formed per row."""
    x, weights = np.asarray(x, dtype=float), np.asarray(weights, dtype=float)
    ix, (xu,) = _groups(x)
    i_age, (x_age, t_age) = _groups(x, age)
    i_rec, (x_rec, t_rec) = _groups(x, recency)
    return {
        "xu": xu,
        "w_x": np.bincount(ix, weights, len(xu)),
        "w": weights,
        "total": float(weights.sum()),
        "i_age": i_age,
        "x_age": x_age,
        "t_age": t_age,
        "w_age": np.bincount(i_age, weights, len(x_age)),
        "i_rec": i_rec,
        "x_rec": x_rec,
        "t_rec": t_rec,
        "w_rec": np.bincount(i_rec, weights, len(x_rec)),
    }


def bgnbd_negative_log_likelihood(log_params, data):
    """-mean(log L) of BG/NBD over the customers and its gradient in the log-parameters; data is
    prepare_bgnbd(...). Per customer with history (x, t_x, T):
    log L = ln G(r+x) - ln G(r) + r ln alpha + ln B(a, b+x) - ln B(a, b) + ln(e^A3 + e^A4),
    A3 = -(r+x) ln(alpha+T), A4 = ln a - ln(b+x-1) - (r+x) ln(alpha+t_x) if x > 0 (else no term),
    the last term in log-sum-exp form: A3 + max(d, 0) + ln(1 + e^-|d|), d = A4 - A3."""
    r, alpha, a, b = np.exp(log_params)
    xu, w_x, total = data["xu"], data["w_x"], data["total"]
    x_age, x_rec = data["x_age"], data["x_rec"]
    repeat = x_rec > 0
    # per distinct x
    base = gammaln(r + xu) - gammaln(r) + gammaln(a + b) + gammaln(b + xu) - gammaln(b) - gammaln(a + b + xu)
    dg_rx = digamma(r + xu) - digamma(r)
    dg_ab = digamma(a + b) - digamma(a + b + xu)
    dg_b = digamma(b + xu) - digamma(b)
    # per distinct (x, T) and (x, t_x)
    log_at, inv_at = np.log(alpha + data["t_age"]), 1 / (alpha + data["t_age"])
    log_atx, inv_atx = np.log(alpha + data["t_rec"]), 1 / (alpha + data["t_rec"])
    b_x1 = np.where(repeat, b + x_rec - 1, 1.0)
    a3 = -(r + x_age) * log_at
    a4 = np.where(repeat, np.log(a) - np.log(b_x1) - (r + x_rec) * log_atx, -np.inf)
    # per row: d, the log-sum-exp, and the weight w3 = e^A3 / (e^A3 + e^A4) of the first term
    d = a4[data["i_rec"]] - a3[data["i_age"]]
    small = np.exp(-np.abs(d))
    w3 = np.where(d > 0, small, 1.0) / (1 + small)
    ww3 = data["w"] * w3
    by_age = np.bincount(data["i_age"], ww3, len(x_age))  # sum of w x w3 per (x, T)
    by_rec = data["w_rec"] - np.bincount(data["i_rec"], ww3, len(x_rec))  # sum of w x w4 per (x, t_x)
    log_likelihood = (
        np.dot(w_x, base)
        + total * r * np.log(alpha)
        + np.dot(data["w_age"], a3)
        + np.dot(data["w"], np.maximum(d, 0) + np.log1p(small))
    )
    d_r = np.dot(w_x, dg_rx) + total * np.log(alpha) - np.dot(log_at, by_age) - np.dot(log_atx, by_rec)
    d_alpha = total * r / alpha - np.dot(inv_at * (r + x_age), by_age) - np.dot(inv_atx * (r + x_rec), by_rec)
    d_a = np.dot(w_x, dg_ab) + by_rec.sum() / a
    d_b = np.dot(w_x, dg_ab + dg_b) - np.dot(np.where(repeat, 1 / b_x1, 0.0), by_rec)
    gradient = -np.array([d_r, d_alpha, d_a, d_b]) * np.array([r, alpha, a, b]) / total
    return -log_likelihood / total, gradient


def prepare_gamma_gamma(x, m, weights):
    """What the Gamma-Gamma likelihood needs that does not depend on the parameters, computed once per
    fit from the compressed rows (sums over the customers of the terms without parameters)."""
    x, m, weights = (np.asarray(c, dtype=float) for c in (x, m, weights))
    ix, (xu,) = _groups(x)
    wx = weights * x
    return {
        "xu": xu,
        "w_x": np.bincount(ix, weights, len(xu)),
        "wx_x": np.bincount(ix, wx, len(xu)),
        "w": weights,
        "wx": wx,
        "xm": x * m,
        "total": float(weights.sum()),
        "sum_wx_log_m": float(np.dot(wx, np.log(m))),
        "sum_w_log_m": float(np.dot(weights, np.log(m))),
        "sum_wx_log_x": float(np.dot(wx, np.log(x))),
    }


def gamma_gamma_negative_log_likelihood(log_params, data):
    """-mean(log L) of Gamma-Gamma over the repeat customers and its gradient in the log-parameters;
    data is prepare_gamma_gamma(...). Per customer with x repeat purchases of mean value m:
    log L = ln G(px+q) - ln G(px) - ln G(q) + q ln v + (px-1) ln m + px ln x - (px+q) ln(xm+v)."""
    p, q, v = np.exp(log_params)
    xu, w_x, wx_x, total = data["xu"], data["w_x"], data["wx_x"], data["total"]
    per_x = gammaln(p * xu + q) - gammaln(p * xu) - gammaln(q)
    dg_pxq, dg_px = digamma(p * xu + q), digamma(p * xu)
    # per row: the only terms that mix the parameters with the customer's values
    spend = data["xm"] + v
    log_spend, inv_spend = np.log(spend), 1 / spend
    wx_log, w_log = np.dot(data["wx"], log_spend), np.dot(data["w"], log_spend)
    wx_inv, w_inv = np.dot(data["wx"], inv_spend), np.dot(data["w"], inv_spend)
    log_likelihood = (
        np.dot(w_x, per_x)
        + total * q * np.log(v)
        + p * data["sum_wx_log_m"]
        - data["sum_w_log_m"]
        + p * data["sum_wx_log_x"]
        - p * wx_log
        - q * w_log
    )
    d_p = np.dot(wx_x, dg_pxq - dg_px) + data["sum_wx_log_m"] + data["sum_wx_log_x"] - wx_log
    d_q = np.dot(w_x, dg_pxq) - total * digamma(q) + total * np.log(v) - w_log
    d_v = total * q / v - p * wx_inv - q * w_inv
    gradient = -np.array([d_p, d_q, d_v]) * np.array([p, q, v]) / total
    return -log_likelihood / total, gradient


def _optimise(objective, args, x0):
    """L-BFGS-B within the bounds, then an unbounded BFGS polish if the gradient is not yet ~0; the next
    start only if the first fails."""
    best = None
    for start in x0:
        result = minimize(
            objective,
            np.array(start, dtype=float),
            args=args,
            jac=True,
            method="L-BFGS-B",
            bounds=[LOG_BOUNDS] * len(start),
            options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-12},
        )
        if not np.all(np.abs(result.jac) <= POLISH_ABOVE):
            polished = minimize(
                objective, result.x, args=args, jac=True, method="BFGS", options={"gtol": 1e-11, "maxiter": 5000}
            )
            if (
                polished.fun <= result.fun
                and np.all(np.isfinite(polished.x))
                and np.all(np.abs(polished.x) < LOG_BOUNDS[1])
            ):
                result = polished
        if best is None or result.fun < best.fun:
            best = result
        if _verdict(best, ["p"] * len(start))[0]:
            break
    return best


def _verdict(result, names):
    """Converged when the gradient of the mean log-likelihood vanishes (line searches at machine
    precision end with a 'failure' message at the optimum) and no parameter sits on a bound."""
    at_bound = [
        name
        for name, value in zip(names, result.x, strict=True)
        if min(abs(value - LOG_BOUNDS[0]), abs(value - LOG_BOUNDS[1])) < 1e-6
    ]
    gradient = float(np.max(np.abs(result.jac))) if np.all(np.isfinite(result.jac)) else np.inf
    if gradient > GRADIENT_TOLERANCE:
        return False, f"optimizer did not converge (max |gradient| {gradient:.2e}): {result.message}"
    if at_bound:
        return False, "parameter(s) at the search bound: " + ", ".join(at_bound)
    return True, "converged"


def _central_hessian(objective, args, log_params, step):
    """Central differences of the analytic gradient, one column per parameter, symmetrised."""
    k = len(log_params)
    hessian = np.empty((k, k))
    for j in range(k):
        shift = np.zeros(k)
        shift[j] = step
        forward, backward = objective(log_params + shift, *args)[1], objective(log_params - shift, *args)[1]
        hessian[:, j] = (forward - backward) / (2 * step)
    return (hessian + hessian.T) / 2


def log_covariance(objective, args, log_params, customers):
    """Covariance of the log-parameter estimates: the inverse of the observed information, the Hessian of
    the total negative log-likelihood (customers x the mean one) at the optimum, from central differences
    of the analytic gradient with one Richardson step (error ~ step^4: the covariance of a nearly
    unidentified pair, whose information matrix is ill-conditioned, stays accurate). None where it is not
    positive definite (no curvature to invert: the data do not pin a parameter down)."""
    log_params = np.asarray(log_params, dtype=float)
    coarse = _central_hessian(objective, args, log_params, HESSIAN_STEP)
    fine = _central_hessian(objective, args, log_params, HESSIAN_STEP / 2)
    hessian = (4 * fine - coarse) / 3 * customers
    if not np.all(np.isfinite(hessian)) or np.linalg.eigvalsh(hessian).min() <= 0:
        return None
    inverse = np.linalg.inv(hessian)
    return (inverse + inverse.T) / 2  # exactly symmetric (the inversion leaves last-bit differences)


def _not_fitted(customers, message):
    """A fit that was not attempted (too little data): no parameters, and why."""
    return {
        "params": None,
        "log_likelihood": None,
        "customers": customers,
        "converged": False,
        "message": message,
        "log_covariance": None,
    }


def _fitted(result, customers, converged, message, covariance=None):
    """A fit's outcome from its optimiser result (log-parameters; the mean negative log-likelihood)."""
    return {
        "params": tuple(np.exp(result.x)),
        "log_likelihood": -float(result.fun) * customers,
        "customers": customers,
        "converged": converged,
        "message": message,
        "log_covariance": covariance if converged else None,
    }


def fit_bgnbd(frequency, recency, age, customers=None):
    """Returns dict(params=(r, alpha, a, b) or None, log_likelihood, customers, converged, message).
    One row per customer, or per distinct history with its number of customers (customers)."""
    frequency = np.asarray(frequency, dtype=float)
    recency = np.asarray(recency, dtype=float)
    age = np.asarray(age, dtype=float)
    customers = np.ones(len(frequency)) if customers is None else np.asarray(customers, dtype=float)
    n = int(customers.sum())
    if n < MIN_CUSTOMERS:
        return _not_fitted(n, f"too few customers to fit: {n} (at least {MIN_CUSTOMERS})")
    repeaters = int(customers[frequency > 0].sum())
    if repeaters < MIN_REPEAT_CUSTOMERS:
        return _not_fitted(n, f"too few repeat buyers to fit: {repeaters} (at least {MIN_REPEAT_CUSTOMERS})")
    (x, tx, t), weights = compress([frequency, recency, age], customers)
    # the start from the sorted, compressed rows: a mean over the rows in arrival order differs in the
    # last bit from run to run, and on a flat likelihood that moves the optimum found by ~1e-5
    scale = max(float(np.dot(weights, t) / np.sum(weights)), 1e-3)
    starts = [[0.0, np.log(scale), 0.0, 0.0], [np.log(0.25), np.log(scale), np.log(0.8), np.log(2.5)]]
    data = (prepare_bgnbd(x, tx, t, weights),)
    result = _optimise(bgnbd_negative_log_likelihood, data, starts)
    converged, message = _verdict(result, ["r", "alpha", "a", "b"])
    return _fitted(result, n, converged, message, log_covariance(bgnbd_negative_log_likelihood, data, result.x, n))


def fit_gamma_gamma(frequency, monetary, customers=None):
    """Fitted on repeat customers (frequency > 0, monetary > 0): dict(params=(p, q, v) or None, ...).
    One row per customer, or per distinct (x, m) with its number of customers (customers)."""
    frequency = np.asarray(frequency, dtype=float)
    monetary = np.asarray(monetary, dtype=float)
    customers = np.ones(len(frequency)) if customers is None else np.asarray(customers, dtype=float)
    keep = (frequency > 0) & np.isfinite(monetary) & (monetary > 0)
    x, m, c = frequency[keep], monetary[keep], customers[keep]
    n = int(c.sum())
    if n < MIN_REPEAT_CUSTOMERS or np.unique(m).size < 2:
        return _not_fitted(
            n, f"too few repeat buyers with distinct spend to fit: {n} (at least {MIN_REPEAT_CUSTOMERS})"
        )
    (xu, mu), weights = compress([x, m], c)
    mean_m = float(np.dot(weights, mu) / np.sum(weights))  # from the sorted rows, as above
    starts = [[0.0, 0.0, np.log(mean_m)], [np.log(5.0), np.log(3.0), np.log(mean_m)]]
    data = (prepare_gamma_gamma(xu, mu, weights),)
    result = _optimise(gamma_gamma_negative_log_likelihood, data, starts)
    converged, message = _verdict(result, ["p", "q", "gamma"])
    if converged and np.exp(result.x[1]) <= 1:
        converged, message = False, "q <= 1: the expected spend per purchase is undefined"
    covariance = log_covariance(gamma_gamma_negative_log_likelihood, data, result.x, n)
    return _fitted(result, n, converged, message, covariance)


def fit_rows(fit, cutoff_date, histories, spends):
    rows = []
    bg = fit_bgnbd(histories["frequency"], histories["recency"], histories["customer_age"], histories["customers"])
    gg = fit_gamma_gamma(spends["frequency"], spends["monetary_value"], spends["customers"])
    for model_name, result, names in (
        ("bg_nbd", bg, ["r", "alpha", "a", "b"]),
        ("gamma_gamma", gg, ["p", "q", "gamma"]),
    ):
        covariance = result["log_covariance"]
        for i, name in enumerate(names):
            rows.append(
                {
                    "fit": fit,
                    "model": model_name,
                    "parameter": name,
                    "parameter_index": i + 1,
                    "value": None if result["params"] is None else float(result["params"][i]),
                    **{
                        f"log_covariance_{j + 1}": None
                        if covariance is None or j >= len(names)
                        else float(covariance[i, j])
                        for j in range(MAX_PARAMETERS)
                    },
                    "log_likelihood": result["log_likelihood"],
                    "customers_used": int(result["customers"]),
                    "is_converged": bool(result["converged"]),
                    "convergence_message": result["message"],
                    "cutoff_date": cutoff_date,
                }
            )
    return rows


def model(dbt, session):
    dbt.config(materialized="table")
    # compressed in SQL: the distinct histories and spends with their customer counts, not every customer
    histories = dbt.ref("int_bgnbd_histories").df()
    spends = dbt.ref("int_gamma_gamma_spends").df()
    cutoffs = dbt.ref("int_parameters").df().iloc[0]
    rows = []
    for fit, cutoff_column in (("full", "as_of_date"), ("calibration", "holdout_start_date")):
        subset = histories[histories["fit"] == fit]
        cutoff = cutoffs[cutoff_column] if len(subset) else None
        rows += fit_rows(fit, cutoff, subset, spends[spends["fit"] == fit])
    frame = pd.DataFrame(rows)
    frame["cutoff_date"] = pd.to_datetime(frame["cutoff_date"]).dt.date
    frame["value"] = frame["value"].astype(float)
    for column in ["log_likelihood"] + [f"log_covariance_{j + 1}" for j in range(MAX_PARAMETERS)]:
        frame[column] = frame[column].astype(float)
    return frame
