"""Per purchase model x period of int_bgnbd_tracking_cells: the repeat purchase occasions the backtest's
calibration fit of the model expects of the calibration customers, summed over their first-purchase days
(Fader, Hardie & Lee 2005, the tracking plot). E[X(t)], the expected repeat occasions of a customer in the first
t time units after the first purchase, is
  BG/NBD (FHL 2005, eq. 9): (a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))],
  MBG/NBD (Batislam et al. 2007): b/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b; t/(alpha+t))],
  Pareto/NBD (Schmittlein et al. 1987): r beta/alpha [1 - (beta/(beta+t))^(s-1)] / (s-1);
a cell expects customers x (E[X(end_age)] - E[X(start_age)]). Null where the model's calibration fit did not
converge."""

import numpy as np
import pandas as pd
from scipy.special import hyp2f1

PURCHASE_MODELS = {
    "bg_nbd": ("r", "alpha", "a", "b"),
    "mbg_nbd": ("r", "alpha", "a", "b"),
    "pareto_nbd": ("r", "alpha", "s", "beta"),
}


def expected_repeat_purchases(model_name, params, t):
    """E[X(t)] of the model for ages t (time units; 0 gives 0)."""
    t = np.asarray(t, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if model_name == "pareto_nbd":
            r, alpha, s, beta = params
            log_ratio = np.log(beta / (beta + t))
            power = -np.log(beta / (beta + t)) if abs(s - 1) < 1e-12 else -np.expm1((s - 1) * log_ratio) / (s - 1)
            value = r * beta / alpha * power
        else:
            r, alpha, a, b = params
            k = int(model_name == "mbg_nbd")
            z = t / (alpha + t)
            # (alpha/(alpha+t))^r in logs: large ages do not underflow the power before 2F1 grows
            value = (
                (a + b - 1 if k == 0 else b)
                / (a - 1)
                * (1 - np.exp(r * np.log1p(-z)) * hyp2f1(r, b + k, a + b - 1 + k, z))
            )
    return np.where(t > 0, value, 0.0)


def model(dbt, session):
    dbt.config(materialized="table")
    cells = dbt.ref("int_bgnbd_tracking_cells").df()
    fitted = dbt.ref("int_clv_models_fitted").df()
    results = []
    for model_name, names in PURCHASE_MODELS.items():
        rows = fitted[(fitted["fit"] == "calibration") & (fitted["model"] == model_name)].set_index("parameter")
        expected = cells[["period_number", "customers", "start_age", "end_age"]].copy()
        if len(rows) and bool(rows["is_converged"].iloc[0]):
            params = tuple(float(rows.loc[name, "value"]) for name in names)
            increments = expected_repeat_purchases(model_name, params, expected["end_age"]) - expected_repeat_purchases(
                model_name, params, expected["start_age"]
            )
            expected["expected"] = expected["customers"].to_numpy(float) * increments
        else:
            expected["expected"] = np.nan
        result = expected.groupby("period_number", as_index=False).agg(
            expected_repeat_purchases=("expected", lambda values: values.sum(min_count=1))
        )
        result.insert(0, "model", model_name)
        results.append(result)
    return pd.concat(results, ignore_index=True).astype(
        {"model": "string", "period_number": "int64", "expected_repeat_purchases": float}
    )
