"""Benchmark: fit BG/NBD + Gamma-Gamma on N simulated customers with the project's fitter (the code of
models/intermediate/predictive/int_clv_models_fitted.py) and with lifetimes, side by side in one run.

    .venv/bin/python -m bench.fit_benchmark --customers 1000000     (from the project root)

Customers are drawn from known parameters (CDNOW-like: r=0.243, alpha=4.414, a=0.793, b=2.426 per week;
Gamma-Gamma p=6.25, q=3.74, gamma=15.44) over daily data (times in days / 7), as real order data is.
Reports wall times, the speed-up and the largest relative parameter difference.
"""

import argparse
import time

import numpy as np

from python_checks.project import load_model_module

fitted = load_model_module("models/intermediate/predictive/int_clv_models_fitted.py")


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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--skip-lifetimes", action="store_true")
    args = parser.parse_args()
    f, r, t, m = simulate(args.customers)
    print(
        f"customers: {args.customers:,}; repeat buyers: {(f > 0).sum():,}; "
        f"distinct (x, t_x, T): {len(np.unique(np.column_stack([f, r, t]), axis=0)):,}"
    )

    start = time.perf_counter()
    ours_bg = fitted.fit_bgnbd(f, r, t)
    ours_bg_s = time.perf_counter() - start
    start = time.perf_counter()
    ours_gg = fitted.fit_gamma_gamma(f, m)
    ours_gg_s = time.perf_counter() - start
    print(f"project  BG/NBD {ours_bg_s:8.2f} s  {np.round(ours_bg['params'], 4)}  converged={ours_bg['converged']}")
    print(
        f"project  Gamma-Gamma {ours_gg_s:8.2f} s  {np.round(ours_gg['params'], 4)}  converged={ours_gg['converged']}"
    )
    if args.skip_lifetimes:
        return
    import warnings

    warnings.filterwarnings("ignore")
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    start = time.perf_counter()
    bg = BetaGeoFitter().fit(f, r, t)
    lt_bg_s = time.perf_counter() - start
    repeat = f > 0
    start = time.perf_counter()
    gg = GammaGammaFitter().fit(f[repeat], m[repeat])
    lt_gg_s = time.perf_counter() - start
    theirs_bg = bg.params_[["r", "alpha", "a", "b"]].to_numpy()
    theirs_gg = gg.params_[["p", "q", "v"]].to_numpy()
    print(f"lifetimes BG/NBD {lt_bg_s:8.2f} s  {np.round(theirs_bg, 4)}")
    print(f"lifetimes Gamma-Gamma {lt_gg_s:8.2f} s  {np.round(theirs_gg, 4)}")
    diff_bg = np.max(np.abs(np.array(ours_bg["params"]) / theirs_bg - 1))
    diff_gg = np.max(np.abs(np.array(ours_gg["params"]) / theirs_gg - 1))
    print(
        f"speed-up BG/NBD: {lt_bg_s / ours_bg_s:.1f}x; Gamma-Gamma: {lt_gg_s / ours_gg_s:.1f}x; "
        f"both: {(lt_bg_s + lt_gg_s) / (ours_bg_s + ours_gg_s):.1f}x"
    )
    print(f"largest relative parameter difference: BG/NBD {diff_bg:.1e}, Gamma-Gamma {diff_gg:.1e}")


if __name__ == "__main__":
    main()
