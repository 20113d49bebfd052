"""Per period of int_bgnbd_tracking_cells: the repeat purchase occasions the backtest's calibration BG/NBD fit
expects of the calibration customers, summed over their first-purchase days (Fader, Hardie & Lee 2005, the
tracking plot). E[X(t)], the expected repeat occasions of a customer in the first t time units after the
first purchase (FHL eq. 9), is (a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]; a cell
expects customers x (E[X(end_age)] - E[X(start_age)]). Null where the calibration fit did not converge."""

import numpy as np
from scipy.special import hyp2f1


def expected_repeat_purchases(params, t):
    """E[X(t)] of BG/NBD for ages t (time units; 0 gives 0)."""
    r, alpha, a, b = params
    t = np.asarray(t, dtype=float)
    z = t / (alpha + t)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # (alpha/(alpha+t))^r in logs: large ages do not underflow the power before 2F1 grows
        value = (a + b - 1) / (a - 1) * (1 - np.exp(r * np.log1p(-z)) * hyp2f1(r, b, a + b - 1, z))
    return np.where(t > 0, value, 0.0)


def model(dbt, session):
    dbt.config(materialized="table")
    cells = dbt.ref("int_bgnbd_tracking_cells").df()
    fitted = dbt.ref("int_clv_models_fitted").df()
    rows = fitted[(fitted["fit"] == "calibration") & (fitted["model"] == "bg_nbd")].set_index("parameter")
    converged = len(rows) and bool(rows["is_converged"].iloc[0])
    if converged:
        params = tuple(float(rows.loc[name, "value"]) for name in ("r", "alpha", "a", "b"))
        increments = expected_repeat_purchases(params, cells["end_age"]) - expected_repeat_purchases(
            params, cells["start_age"]
        )
        cells["expected"] = cells["customers"].to_numpy(float) * increments
    else:
        cells["expected"] = np.nan
    result = cells.groupby("period_number", as_index=False).agg(
        expected_repeat_purchases=("expected", lambda values: values.sum(min_count=1))
    )
    return result.astype({"period_number": "int64", "expected_repeat_purchases": float})
