"""The purchase models BG/NBD (Fader, Hardie & Lee 2005), MBG/NBD (Batislam, Denizel & Filiztekin 2007) and
Pareto/NBD (Schmittlein, Morrison & Colombo 1987; likelihood of Fader, Hardie & Lee 2005c) and the spend
model Gamma-Gamma (Fader, Hardie & Lee 2005b), fitted by maximum likelihood for the 'full' and the
'calibration' cut-offs of int_customers_bgnbd_inputs.

Grain of the output: fit x model x parameter. Numerics follow the published likelihoods: the fit runs
on log-parameters within bounds, the BG/NBD likelihood uses log-sum-exp, and customers with the same
(frequency, recency, T) are fitted once with a weight (Fader & Hardie's compression). The covariance of
the log-parameter estimates is the inverse of the observed information (the Hessian of the total negative
log-likelihood at the optimum, by central differences of the gradient, Richardson-extrapolated). The
Pareto/NBD gradient is itself a central difference of the likelihood (its analytic form needs derivatives
of 2F1 in its parameters); the others are analytic.
The functions are importable without dbt (the benchmark and the checks use them).
"""

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import digamma, gammaln, hyp2f1

LOG_BOUNDS = (-12.0, 12.0)  # every parameter in [6e-6, 1.6e5]
MIN_CUSTOMERS = 10
GRADIENT_TOLERANCE = 1e-5
POLISH_ABOVE = 1e-7  # the BFGS polish runs only when L-BFGS-B stops with a larger gradient (elsewhere it moves nothing)
MIN_REPEAT_CUSTOMERS = 3
PARETO_FUNCTION_TOLERANCE = 1e-13  # its gradient's rounding (per-pair 2F1 derivatives) is ~1e-8 at 1M histories
VALUE_HESSIAN_STEP = 1e-3  # the Pareto/NBD Hessian from function values (truncation ~1e-6, rounding ~1e-10)
HESSIAN_STEP = 4e-3  # in log-parameters: central differences at this step and half of it, Richardson-combined
PARETO_GRADIENT_STEP = 1e-5  # in log-parameters: the 2F1 terms' derivatives per pair (error ~1e-10)
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


def prepare_bgnbd(x, recency, age, weights, shift=0):
    """What the BG/NBD likelihood needs that does not depend on the parameters, computed once per fit
    from the compressed rows: the terms of a row depend on (x, T) and on (x, t_x), and customers share
    few of those pairs, so the parameters meet the data per pair, and the per-row sums of the
    gradient are gathered per pair (np.bincount) instead of being formed per row. shift 1 gives MBG/NBD
    (a drop-out chance at the first purchase too: b + x + 1 where BG/NBD has b + x), and the same pairs
    serve the Pareto/NBD likelihood."""
    x, weights = np.asarray(x, dtype=float), np.asarray(weights, dtype=float)
    ix, (xu,) = _groups(x)
    i_age, (x_age, t_age) = _groups(x, age)
    i_rec, (x_rec, t_rec) = _groups(x, recency)
    return {
        "shift": shift,
        "ix": ix,
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
    """-mean(log L) of BG/NBD (data["shift"] 0) or MBG/NBD (1) over the customers and its gradient in the
    log-parameters; data is prepare_bgnbd(...). Per customer with history (x, t_x, T), k the shift:
    log L = ln G(r+x) - ln G(r) + r ln alpha + ln B(a, b+x+k) - ln B(a, b) + ln(e^A3 + e^A4),
    A3 = -(r+x) ln(alpha+T), A4 = ln a - ln(b+x-1+k) - (r+x) ln(alpha+t_x) if x > 0 or k = 1 (else no
    term), the last term in log-sum-exp form: A3 + max(d, 0) + ln(1 + e^-|d|), d = A4 - A3."""
    r, alpha, a, b = np.exp(log_params)
    xu, w_x, total, k = data["xu"], data["w_x"], data["total"], data["shift"]
    x_age, x_rec = data["x_age"], data["x_rec"]
    repeat = (x_rec > 0) | (k == 1)
    # per distinct x
    base = gammaln(r + xu) - gammaln(r) + gammaln(a + b) + gammaln(b + xu + k) - gammaln(b) - gammaln(a + b + xu + k)
    dg_rx = digamma(r + xu) - digamma(r)
    dg_ab = digamma(a + b) - digamma(a + b + xu + k)
    dg_b = digamma(b + xu + k) - digamma(b)
    # per distinct (x, T) and (x, t_x)
    log_at, inv_at = np.log(alpha + data["t_age"]), 1 / (alpha + data["t_age"])
    log_atx, inv_atx = np.log(alpha + data["t_rec"]), 1 / (alpha + data["t_rec"])
    b_x1 = np.where(repeat, b + x_rec - 1 + k, 1.0)
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


def pareto_log_integral(r, alpha, s, beta, x, t):
    """ln of the term of the Pareto/NBD likelihood whose difference between t_x and T is A0 (Fader, Hardie
    & Lee 2005c, eqs. 19-20): 2F1(r+s+x, s+1; r+s+x+1; (alpha-beta)/(alpha+t)) / (alpha+t)^(r+s+x) if
    alpha >= beta, else 2F1(r+s+x, r+x; r+s+x+1; (beta-alpha)/(beta+t)) / (beta+t)^(r+s+x). The 2F1 is
    taken through Euler's transformation, (1-z)^(1-b) 2F1(1, c-b; c; z): a series of positive terms that
    converges up to z = 1, where the original diverges (c - a - b = -s < 0)."""
    x, t = np.asarray(x, dtype=float), np.asarray(t, dtype=float)
    rsx = r + s + x
    big, small, upper = (alpha, beta, s + 1 + 0 * x) if alpha >= beta else (beta, alpha, r + x)
    z = (big - small) / (big + t)
    with np.errstate(divide="ignore"):
        return (
            (1 - upper) * np.log((small + t) / (big + t))
            + np.log(hyp2f1(1.0, rsx + 1 - upper, rsx + 1, z))
            - rsx * np.log(big + t)
        )


def pareto_log_a0(at_recency, at_age):
    """ln A0 = ln(term(t_x) - term(T)) from the terms of pareto_log_integral at t_x and T, -inf where t_x = T
    (no time to die unseen)."""
    with np.errstate(divide="ignore"):
        return at_recency + np.log(-np.expm1(np.minimum(at_age - at_recency, 0.0)))


def _pareto_nbd_mean_nll(log_params, data):
    """-mean(log L) of Pareto/NBD (the function alone: the covariance's Hessian differences it). Per customer
    with history (x, t_x, T):
    log L = ln G(r+x) - ln G(r) + r ln alpha + s ln beta + ln(e^A1 + s/(r+s+x) A0),
    A1 = -(r+x) ln(alpha+T) - s ln(beta+T), in log-sum-exp form."""
    r, alpha, s, beta = np.exp(log_params)
    xu, w_x, total = data["xu"], data["w_x"], data["total"]
    at_age = pareto_log_integral(r, alpha, s, beta, data["x_age"], data["t_age"])[data["i_age"]]
    at_recency = pareto_log_integral(r, alpha, s, beta, data["x_rec"], data["t_rec"])[data["i_rec"]]
    a1 = -(r + data["x_age"]) * np.log(alpha + data["t_age"]) - s * np.log(beta + data["t_age"])
    log_a0 = pareto_log_a0(at_recency, at_age)
    per_row = np.logaddexp(a1[data["i_age"]], np.log(s / (r + s + xu))[data["ix"]] + log_a0)
    log_likelihood = (
        np.dot(w_x, gammaln(r + xu) - gammaln(r))
        + total * (r * np.log(alpha) + s * np.log(beta))
        + np.dot(data["w"], per_row)
    )
    return -log_likelihood / total


def pareto_nbd_negative_log_likelihood(log_params, data):
    """-mean(log L) of Pareto/NBD (as _pareto_nbd_mean_nll) and its gradient in the log-parameters. The
    gradient is analytic but for the 2F1 terms h(t_x), h(T) of pareto_log_integral: their derivatives are
    central differences per distinct (x, t_x) and (x, T) pair (PARETO_GRADIENT_STEP; scipy has no derivative
    of 2F1 in its parameters), carried to the customers by the chain rule, the per-row sums gathered per
    pair (np.bincount) as for BG/NBD."""
    theta = np.exp(log_params)
    r, alpha, s, beta = theta
    xu, w_x, total, w = data["xu"], data["w_x"], data["total"], data["w"]
    x_age, t_age, x_rec, t_rec = data["x_age"], data["t_age"], data["x_rec"], data["t_rec"]
    i_age, i_rec = data["i_age"], data["i_rec"]
    h_age = pareto_log_integral(r, alpha, s, beta, x_age, t_age)
    h_rec = pareto_log_integral(r, alpha, s, beta, x_rec, t_rec)
    dh_age, dh_rec = np.empty((4, len(x_age))), np.empty((4, len(x_rec)))
    for j in range(4):
        up, down = theta.copy(), theta.copy()
        up[j], down[j] = theta[j] * np.exp(PARETO_GRADIENT_STEP), theta[j] * np.exp(-PARETO_GRADIENT_STEP)
        for derivative, xs, ts in ((dh_age, x_age, t_age), (dh_rec, x_rec, t_rec)):
            derivative[j] = (pareto_log_integral(*up, xs, ts) - pareto_log_integral(*down, xs, ts)) / (
                2 * PARETO_GRADIENT_STEP
            )
    log_at, log_bt = np.log(alpha + t_age), np.log(beta + t_age)
    a1 = -(r + x_age) * log_at - s * log_bt
    # per row: A0 = e^h(t_x) (1 - rho), rho = e^(h(T) - h(t_x)); the weights of the two terms of log L
    rho = np.exp(np.minimum(h_age[i_age] - h_rec[i_rec], 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        b_term = np.log(s / (r + s + xu))[data["ix"]] + h_rec[i_rec] + np.log1p(-rho)
        per_row = np.logaddexp(a1[i_age], b_term)
        p2 = np.exp(b_term - per_row)  # 0 where t_x = T
        q = np.where(p2 > 0, w * p2 / (1 - rho), 0.0)
    wp1_by_age = np.bincount(i_age, w * (1 - p2), len(x_age))
    wp2_by_x = np.bincount(data["ix"], w * p2, len(xu))
    q_by_rec, q_rho_by_age = np.bincount(i_rec, q, len(x_rec)), np.bincount(i_age, q * rho, len(x_age))
    log_likelihood = (
        np.dot(w_x, gammaln(r + xu) - gammaln(r)) + total * (r * np.log(alpha) + s * np.log(beta)) + np.dot(w, per_row)
    )
    rsx = r + s + xu
    gradient = np.array(
        [
            r * np.dot(w_x, digamma(r + xu) - digamma(r))
            + total * r * np.log(alpha)
            - r * np.dot(wp1_by_age, log_at)
            - r * np.dot(wp2_by_x, 1 / rsx),
            total * r - alpha * np.dot(wp1_by_age, (r + x_age) / (alpha + t_age)),
            total * s * np.log(beta) - s * np.dot(wp1_by_age, log_bt) + np.dot(wp2_by_x, 1 - s / rsx),
            total * s - s * beta * np.dot(wp1_by_age, 1 / (beta + t_age)),
        ]
    )
    gradient += dh_rec @ q_by_rec - dh_age @ q_rho_by_age
    return -log_likelihood / total, -gradient / total


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


def _optimise(objective, args, x0, function_tolerance=1e-15):
    """L-BFGS-B within the bounds, then an unbounded BFGS polish if the gradient is not yet ~0; the next
    start only if the first fails. function_tolerance: L-BFGS-B's ftol (relative reduction per step); where
    the gradient is partly numerical (Pareto/NBD) a larger one stops it before its line searches fail in
    the gradient's rounding."""
    best = None
    for start in x0:
        result = minimize(
            objective,
            np.array(start, dtype=float),
            args=args,
            jac=True,
            method="L-BFGS-B",
            bounds=[LOG_BOUNDS] * len(start),
            options={"maxiter": 5000, "ftol": function_tolerance, "gtol": 1e-12},
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


def _value_hessian(function, args, log_params, step):
    """Second-order central differences of the function itself: four points per pair off the diagonal,
    f(+2h) - 2 f(0) + f(-2h) on it (33 evaluations for four parameters). For a likelihood whose gradient is
    partly numerical, differencing that gradient would divide its rounding by the step twice; the
    function's own rounding (~1e-16 of a mean log-likelihood of order 1) divided by 4 step^2 stays ~1e-10."""
    k = len(log_params)
    hessian = np.empty((k, k))
    centre = function(log_params, *args)
    for i in range(k):
        ei = np.eye(k)[i] * step
        hessian[i, i] = (function(log_params + 2 * ei, *args) - 2 * centre + function(log_params - 2 * ei, *args)) / (
            4 * step * step
        )
        for j in range(i + 1, k):
            ej = np.eye(k)[j] * step
            hessian[i, j] = hessian[j, i] = (
                function(log_params + ei + ej, *args)
                - function(log_params + ei - ej, *args)
                - function(log_params - ei + ej, *args)
                + function(log_params - ei - ej, *args)
            ) / (4 * step * step)
    return hessian


def log_covariance(objective, args, log_params, customers, function=None):
    """Covariance of the log-parameter estimates: the inverse of the observed information, the Hessian of
    the total negative log-likelihood (customers x the mean one) at the optimum, from central differences
    of the analytic gradient (or, given the likelihood function whose gradient is numerical, of the function
    itself) with one Richardson step (error ~ step^4: the covariance of a nearly unidentified pair, whose
    information matrix is ill-conditioned, stays accurate). None where it is not positive definite (no
    curvature to invert: the data do not pin a parameter down)."""
    log_params = np.asarray(log_params, dtype=float)
    if function is None:
        coarse = _central_hessian(objective, args, log_params, HESSIAN_STEP)
        fine = _central_hessian(objective, args, log_params, HESSIAN_STEP / 2)
        hessian = (4 * fine - coarse) / 3 * customers
    else:
        # one step, small enough that the truncation (~step^2) is below the rounding: no Richardson step
        hessian = _value_hessian(function, args, log_params, VALUE_HESSIAN_STEP) * customers
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


GAMMA_GAMMA_PARAMETERS = ("p", "q", "gamma")
PURCHASE_MODELS = {
    # model: its parameters, in the order of its log-parameters
    "bg_nbd": ("r", "alpha", "a", "b"),
    "mbg_nbd": ("r", "alpha", "a", "b"),
    "pareto_nbd": ("r", "alpha", "s", "beta"),
}


def fit_bgnbd(frequency, recency, age, customers=None):
    """BG/NBD: fit_purchase_model("bg_nbd", ...)."""
    return fit_purchase_model("bg_nbd", frequency, recency, age, customers)


def prepare_purchase_histories(frequency, recency, age, customers=None):
    """What every purchase model's fit needs from the histories, computed once for the three: the
    compressed rows, the counts the fits require, the start's time scale and prepare_bgnbd's pairs."""
    frequency = np.asarray(frequency, dtype=float)
    recency = np.asarray(recency, dtype=float)
    age = np.asarray(age, dtype=float)
    customers = np.ones(len(frequency)) if customers is None else np.asarray(customers, dtype=float)
    prepared = {
        "customers": int(customers.sum()),
        "repeaters": int(customers[frequency > 0].sum()),
    }
    if prepared["customers"] >= MIN_CUSTOMERS and prepared["repeaters"] >= MIN_REPEAT_CUSTOMERS:
        (x, tx, t), weights = compress([frequency, recency, age], customers)
        # the start from the sorted, compressed rows: a mean over the rows in arrival order differs in the
        # last bit from run to run, and on a flat likelihood that moves the optimum found by ~1e-5
        prepared["scale"] = max(float(np.dot(weights, t) / np.sum(weights)), 1e-3)
        prepared["data"] = prepare_bgnbd(x, tx, t, weights)
    return prepared


def fit_purchase_model(model_name, frequency=None, recency=None, age=None, customers=None, prepared=None):
    """A purchase model of PURCHASE_MODELS fitted to the histories: dict(params=(its parameters) or None,
    log_likelihood, customers, converged, message, log_covariance). One row per customer, or per distinct
    history with its number of customers (customers); or the histories prepared once for several models
    (prepare_purchase_histories)."""
    if prepared is None:
        prepared = prepare_purchase_histories(frequency, recency, age, customers)
    n, repeaters = prepared["customers"], prepared["repeaters"]
    if n < MIN_CUSTOMERS:
        return _not_fitted(n, f"too few customers to fit: {n} (at least {MIN_CUSTOMERS})")
    if repeaters < MIN_REPEAT_CUSTOMERS:
        return _not_fitted(n, f"too few repeat buyers to fit: {repeaters} (at least {MIN_REPEAT_CUSTOMERS})")
    scale = prepared["scale"]
    function = None
    if model_name == "pareto_nbd":
        objective, function = pareto_nbd_negative_log_likelihood, _pareto_nbd_mean_nll
        starts = [[0.0, np.log(scale), 0.0, np.log(scale)], [np.log(0.5), np.log(scale), np.log(0.5), np.log(scale)]]
    else:
        objective = bgnbd_negative_log_likelihood
        starts = [[0.0, np.log(scale), 0.0, 0.0], [np.log(0.25), np.log(scale), np.log(0.8), np.log(2.5)]]
    data = ({**prepared["data"], "shift": int(model_name == "mbg_nbd")},)
    result = _optimise(objective, data, starts, PARETO_FUNCTION_TOLERANCE if function is not None else 1e-15)
    converged, message = _verdict(result, list(PURCHASE_MODELS[model_name]))
    return _fitted(result, n, converged, message, log_covariance(objective, data, result.x, n, function))


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
    converged, message = _verdict(result, list(GAMMA_GAMMA_PARAMETERS))
    if converged and np.exp(result.x[1]) <= 1:
        converged, message = False, "q <= 1: the expected spend per purchase is undefined"
    covariance = log_covariance(gamma_gamma_negative_log_likelihood, data, result.x, n)
    return _fitted(result, n, converged, message, covariance)


def fit_rows(fit, cutoff_date, histories, spends):
    rows = []
    prepared = prepare_purchase_histories(
        histories["frequency"], histories["recency"], histories["customer_age"], histories["customers"]
    )
    fits = [
        (name, fit_purchase_model(name, prepared=prepared), parameters) for name, parameters in PURCHASE_MODELS.items()
    ]
    gg = fit_gamma_gamma(spends["frequency"], spends["monetary_value"], spends["customers"])
    for model_name, result, names in [*fits, ("gamma_gamma", gg, GAMMA_GAMMA_PARAMETERS)]:
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


# ------------------------------------------------------------------------------------------------
# the refit policy (var refit; docs/definitions.md, "Refit policy")

REFIT_AFTER_DAYS = {"weekly": 7, "monthly": 28, "never": None}


def read_published_fit(path):
    """The last published fit: clv_model_parameters and clv_model_covariance of the published database at path
    (a DuckDB file, opened read-only), or None when nothing with a reusable fit is published there."""
    import os

    import duckdb

    if not path or not os.path.exists(path):
        return None
    with duckdb.connect(path, read_only=True) as connection:
        tables = {row[0] for row in connection.execute("select table_name from duckdb_tables()").fetchall()}
        if not {"clv_model_parameters", "clv_model_covariance"} <= tables:
            return None
        parameters = connection.execute("select * from clv_model_parameters").df()
        if "fitted_as_of" not in parameters.columns:  # published by a version without the refit policy
            return None
        covariance = connection.execute(
            "select fit, model, parameter, other_parameter, log_scale_covariance from clv_model_covariance"
        ).df()
    return {"parameters": parameters, "covariance": covariance}


def refit_decision(policy, growth_limit, as_of, settings, customers, published):
    """(refit, reason): whether this run fits the models again or reuses the last published fit. policy: the
    var refit; customers: the customers of this run's full fit; published: read_published_fit's result."""
    if policy == "always":
        return True, "refit: refit is always"
    if published is None or published["parameters"].empty:
        return True, "refit: no published fit to reuse"
    parameters = published["parameters"]
    fitted_as_of = pd.Timestamp(parameters["fitted_as_of"].iloc[0]).date()
    as_of = pd.Timestamp(as_of).date()
    if parameters["fit_settings"].iloc[0] != settings:
        return True, "refit: the published fit was made under other settings (fit_settings)"
    if as_of < fitted_as_of:
        return True, f"refit: the as-of {as_of} is before the published fit's ({fitted_as_of})"
    used = parameters[
        (parameters["fit"] == "full") & ((parameters["is_selected"]) | (parameters["model"] == "gamma_gamma"))
    ]
    if used.empty or not used["is_converged"].all():
        return True, "refit: the published fit of the model in use did not converge"
    age = (as_of - fitted_as_of).days
    days = REFIT_AFTER_DAYS[policy]
    if days is not None and age >= days:
        return True, f"refit: the published fit is {age} days old (refit {policy}: {days} days)"
    before = float(
        parameters.loc[(parameters["fit"] == "full") & (parameters["model"] == "bg_nbd"), "customers_used"].iloc[0]
    )
    change = customers / before - 1 if before else float("inf")
    if not before or not before * (1 - growth_limit) <= customers <= before * (1 + growth_limit):
        return (
            True,
            f"refit: the customers of the fit changed by {change:+.1%} since it (refit_growth {growth_limit:g})",
        )
    return False, f"reused: the fit of {fitted_as_of}, {age} days old (refit {policy}; customers {change:+.1%})"


def reused_rows(published):
    """int_clv_models_fitted's rows of the published fit: its values, log-likelihoods, convergence, cut-offs and
    log-scale covariance, and the model choice it was published with."""
    parameters, covariance = published["parameters"], published["covariance"]
    names_of = {**PURCHASE_MODELS, "gamma_gamma": GAMMA_GAMMA_PARAMETERS}
    rows = []
    for (fit, model_name), group in parameters.groupby(["fit", "model"], sort=False):
        names = names_of[model_name]
        by_name = group.set_index("parameter")
        pairs = covariance[(covariance["fit"] == fit) & (covariance["model"] == model_name)]
        pairs = pairs.set_index(["parameter", "other_parameter"])["log_scale_covariance"]
        for i, name in enumerate(names):
            row = by_name.loc[name]
            rows.append(
                {
                    "fit": fit,
                    "model": model_name,
                    "parameter": name,
                    "parameter_index": i + 1,
                    "value": None if pd.isna(row["value"]) else float(row["value"]),
                    **{
                        f"log_covariance_{j + 1}": float(pairs.get((name, names[j]), np.nan))
                        if j < len(names)
                        else None
                        for j in range(MAX_PARAMETERS)
                    },
                    "log_likelihood": None if pd.isna(row["log_likelihood"]) else float(row["log_likelihood"]),
                    "customers_used": int(row["customers_used"]),
                    "is_converged": bool(row["is_converged"]),
                    "convergence_message": row["convergence_message"],
                    "cutoff_date": row["cutoff_date"],
                    "fitted_as_of": row["fitted_as_of"],
                    "reused_is_selected": None if model_name == "gamma_gamma" else bool(row["is_selected"]),
                    "reused_selection_reason": None if model_name == "gamma_gamma" else row["selection_reason"],
                }
            )
    return rows


def model(dbt, session):
    import os

    dbt.config(materialized="table")
    # compressed in SQL: the distinct histories and spends with their customer counts, not every customer
    histories = dbt.ref("int_bgnbd_histories").df()
    spends = dbt.ref("int_gamma_gamma_spends").df()
    settings = dbt.ref("int_parameters").df().iloc[0]
    full_customers = float(histories.loc[histories["fit"] == "full", "customers"].sum())
    # the published database of the publish step (scripts/publish.py), relative to the project directory
    published = None
    if settings["refit_policy"] != "always":
        published = read_published_fit(os.environ.get("CLV_PUBLISHED_DUCKDB_PATH", "published/clv.duckdb"))
    refit, reason = refit_decision(
        settings["refit_policy"],
        float(settings["refit_growth"]),
        settings["as_of_date"],
        settings["fit_settings"],
        full_customers,
        published,
    )
    if refit:
        rows = []
        for fit, cutoff_column in (("full", "as_of_date"), ("calibration", "holdout_start_date")):
            subset = histories[histories["fit"] == fit]
            cutoff = settings[cutoff_column] if len(subset) else None
            rows += fit_rows(fit, cutoff, subset, spends[spends["fit"] == fit])
        for row in rows:
            row.update(fitted_as_of=settings["as_of_date"], reused_is_selected=None, reused_selection_reason=None)
    else:
        rows = reused_rows(published)
    frame = pd.DataFrame(rows)
    frame["is_refit"] = refit
    frame["refit_reason"] = reason
    frame["fit_settings"] = settings["fit_settings"]
    for column in ("cutoff_date", "fitted_as_of"):
        frame[column] = pd.to_datetime(frame[column]).dt.date
    frame["value"] = frame["value"].astype(float)
    for column in ["log_likelihood"] + [f"log_covariance_{j + 1}" for j in range(MAX_PARAMETERS)]:
        frame[column] = frame[column].astype(float)
    frame["reused_is_selected"] = frame["reused_is_selected"].astype("boolean")
    frame["reused_selection_reason"] = frame["reused_selection_reason"].astype("string")
    return frame
