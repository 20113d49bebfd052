"""Benchmark: fit the purchase models (BG/NBD, MBG/NBD, Pareto/NBD) and Gamma-Gamma on N simulated customers
with the project's fitter (the code of models/intermediate/predictive/int_clv_models_fitted.py), predict with
the project's prediction code (int_bgnbd_histories_predicted.py: P(alive), expected purchases, the discounted
horizon sum and its elasticities, per distinct history), and fit and predict BG/NBD and Gamma-Gamma with
lifetimes, side by side in one run.

    .venv/bin/python -m bench.fit_benchmark --customers 1000000     (from the project root)

Customers are drawn from known parameters (CDNOW-like: r=0.243, alpha=4.414, a=0.793, b=2.426 per week;
Gamma-Gamma p=6.25, q=3.74, gamma=15.44) over daily data (times in days / 7), as real order data is.
Reports wall times, the speed-ups and the largest relative parameter difference.
"""

import argparse
import time

import numpy as np
import pandas as pd

from python_checks.project import load_model_module

fitted = load_model_module("models/intermediate/predictive/int_clv_models_fitted.py")
predicted = load_model_module("models/intermediate/predictive/int_bgnbd_histories_predicted.py")
HORIZON_YEARS, DISCOUNT, UNIT_DAYS = 10, 0.10, 7.0


def simulate(n, seed=11, r=0.243, alpha=4.414, a=0.793, b=2.426, p=6.25, q=3.74, gamma=15.44):
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    drop = rng.beta(a, b, n)
    age_days = rng.integers(7, 548, n)  # first purchase 1 week to 18 months before the cut-off
    t = np.zeros(n)
    last = np.zeros(n)
    x = np.zeros(n, dtype=np.int64)
    alive = np.ones(n, dtype=bool)
    while alive.any():
        t = t + rng.exponential(1.0, n) / np.maximum(lam, 1e-12) * 7
        buys = alive & (t <= age_days)
        x += buys
        last = np.where(buys, t, last)
        alive = buys & (rng.random(n) >= drop)
    recency_days = np.floor(last)
    nu = rng.gamma(q, 1 / gamma, n)
    monetary = np.where(x > 0, rng.gamma(p * np.maximum(x, 1), 1 / nu) / np.maximum(x, 1), np.nan)
    monetary = np.round(monetary, 2)
    return x.astype(float), recency_days / 7, age_days / 7, monetary


def timed(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def project_predictions(model, params, x, tx, t):
    """What int_bgnbd_histories_predicted computes per distinct history for one model (its predict_histories,
    the other models left unfitted): P(alive), expected purchases at five horizons, the discounted horizon
    sum, and the elasticities of the discounted sum and of the 365-day expectation."""
    frame = pd.DataFrame({"frequency": x, "recency": tx, "customer_age": t, "is_valued": True})
    horizons = (("30d", 30), ("90d", 90), ("365d", 365), ("horizon", HORIZON_YEARS * 365.25), ("holdout", 180))
    for _ in predicted.predict_histories(
        frame, lambda name: params if name == model else None, horizons, HORIZON_YEARS, DISCOUNT, UNIT_DAYS
    ):
        pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--skip-lifetimes", action="store_true")
    args = parser.parse_args()
    f, r, t, m = simulate(args.customers)
    (hx, htx, ht), weights = fitted.compress([f, r, t])
    print(f"customers: {args.customers:,}; repeat buyers: {(f > 0).sum():,}; distinct (x, t_x, T): {len(hx):,}")

    ours, fit_seconds, predict_seconds = {}, {}, {}
    for model in fitted.PURCHASE_MODELS:
        ours[model], fit_seconds[model] = timed(fitted.fit_purchase_model, model, f, r, t)
        _, predict_seconds[model] = timed(project_predictions, model, ours[model]["params"], hx, htx, ht)
        print(
            f"project  {model:<10} fit {fit_seconds[model]:6.2f} s, predictions {predict_seconds[model]:6.2f} s"
            f"  {np.round(ours[model]['params'], 4)}  converged={ours[model]['converged']}"
        )
    ours_gg, gg_seconds = timed(fitted.fit_gamma_gamma, f, m)
    print(f"project  gamma_gamma fit {gg_seconds:6.2f} s  {np.round(ours_gg['params'], 4)}")
    project_all = sum(fit_seconds.values()) + sum(predict_seconds.values()) + gg_seconds
    print(
        "project  all three purchase models + Gamma-Gamma, fits with standard errors and predictions: "
        f"{project_all:.2f} s"
    )
    if args.skip_lifetimes:
        return
    import warnings

    warnings.filterwarnings("ignore")
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    bg, lt_bg_s = timed(BetaGeoFitter().fit, f, r, t)
    repeat = f > 0
    gg, lt_gg_s = timed(GammaGammaFitter().fit, f[repeat], m[repeat])

    def lifetimes_predictions():
        bg.conditional_probability_alive(f, r, t)
        for days in (30, 90, 365, HORIZON_YEARS * 365.25, 180):
            bg.conditional_expected_number_of_purchases_up_to_time(days / UNIT_DAYS, f, r, t)

    _, lt_predict_s = timed(lifetimes_predictions)
    theirs_bg = bg.params_[["r", "alpha", "a", "b"]].to_numpy()
    theirs_gg = gg.params_[["p", "q", "v"]].to_numpy()
    print(f"lifetimes BG/NBD fit {lt_bg_s:8.2f} s  {np.round(theirs_bg, 4)}")
    print(f"lifetimes Gamma-Gamma fit {lt_gg_s:8.2f} s  {np.round(theirs_gg, 4)}")
    print(f"lifetimes BG/NBD P(alive) and 5 expected-purchase horizons per customer {lt_predict_s:8.2f} s")
    diff_bg = np.max(np.abs(np.array(ours["bg_nbd"]["params"]) / theirs_bg - 1))
    diff_gg = np.max(np.abs(np.array(ours_gg["params"]) / theirs_gg - 1))
    print(
        f"speed-up of the fits: BG/NBD {lt_bg_s / fit_seconds['bg_nbd']:.1f}x; "
        f"Gamma-Gamma {lt_gg_s / gg_seconds:.1f}x; "
        f"lifetimes' BG/NBD fit / the project's three purchase-model fits: "
        f"{lt_bg_s / sum(fit_seconds.values()):.1f}x"
    )
    print(f"largest relative parameter difference: BG/NBD {diff_bg:.1e}, Gamma-Gamma {diff_gg:.1e}")


if __name__ == "__main__":
    main()
