"""Per fit x purchase model (BG/NBD, MBG/NBD, Pareto/NBD) x distinct history (x, t_x, T): P(alive), expected
purchases over several horizons, and the expected purchases over clv_horizon_years discounted monthly from
the annual discount_rate. Customers with the same history share these; int_customers_predicted joins the
selected model's to the customers and adds the Gamma-Gamma spend (SQL); int_purchase_models_selected and
the backtest compare the models' holdout predictions; clv_frequency_recency reads the histories of
int_frequency_recency_grid. Predictions are null where the model's fit did not converge. The discounted
horizon sum and the elasticities (the predicted CLV and its interval: 120 monthly 2F1 terms, five times
over) are computed for the customers' histories of the full fit only, which customer_clv and segment_clv
publish; the backtest reads the calibration fit's expected holdout purchases, the matrix the grid's P(alive)
and expected purchases.

Every model's conditional expectation factors into a term of the customer's history and a term of (x, T)
and the horizon t (Fader, Hardie & Lee 2005, eq. 10; Batislam et al. 2007; Schmittlein et al. 1987):
  BG/NBD, MBG/NBD (k = 0, 1): (a+b+x-1+k)/(a-1) / (1 + [x>0 or k=1] a/(b+x-1+k) ((alpha+T)/(alpha+t_x))^(r+x))
      x [1 - 2F1(r+x, b+x+k; a+b+x-1+k; t/(alpha+T+t)) ((alpha+T)/(alpha+T+t))^(r+x)]
  Pareto/NBD: (r+x)(beta+T)/(alpha+T) P(alive) x [1 - ((beta+T)/(beta+T+t))^(s-1)] / (s-1).

An incremental table (docs/decisions.md, "Predictions reused"): a run returns every current history, and
takes a history's rows from the table as they are when the table holds them under the same prediction
signature (the fitted parameters, the settings the predictions read, this file and the numpy and scipy
versions): between refits with the as-of pinned (as_of_period week or month) only the histories of the
customers who ordered are predicted again. A full refresh predicts every history."""

import hashlib
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy
from scipy.special import expit, hyp2f1

PURCHASE_MODELS = {
    # model: its parameters, in the order of int_clv_models_fitted's parameter_index
    "bg_nbd": ("r", "alpha", "a", "b"),
    "mbg_nbd": ("r", "alpha", "a", "b"),
    "pareto_nbd": ("r", "alpha", "s", "beta"),
}

DAYS_PER_MONTH = 365.25 / 12
ELASTICITY_STEP = 1e-5  # forward differences in the log-parameters (error ~ the step: 1e-5 of an elasticity)


def _pairs_of(x, t):
    inverse = pd.DataFrame({"x": x, "t": t}).groupby(["x", "t"], sort=False).ngroup().to_numpy()
    px = np.empty(int(inverse.max()) + 1 if len(inverse) else 0)
    pt = np.empty_like(px)
    px[inverse] = x
    pt[inverse] = t
    return px, pt, inverse


def distinct_pairs(frequency, age, recency=None):
    """The distinct (x, T) pairs and, per customer, the index of its pair: the 2F1 term of the
    expected purchases depends on x and T only, and customers share few pairs (tens of thousands
    for millions of customers), so it is evaluated once per pair. With recency, the distinct (x, t_x)
    pairs too (a 6-tuple), where Pareto/NBD's P(alive) evaluates its other 2F1 term."""
    x = np.asarray(frequency, dtype=float)
    pairs = _pairs_of(x, np.asarray(age, dtype=float))
    if recency is None:
        return pairs
    return pairs + _pairs_of(x, np.asarray(recency, dtype=float))


def _power_term(exponent, ratio):
    """(1 - ratio^exponent) / exponent, its limit -ln(ratio) at exponent 0 (Pareto/NBD with s = 1)."""
    if abs(exponent) < 1e-12:
        return -np.log(ratio)
    return -np.expm1(exponent * np.log(ratio)) / exponent


def _pair_term(model_name, params, t, px, page):
    """The term of (x, T) and the horizon t, per (x, T) pair: BG/NBD, MBG/NBD 1 - 2F1(r+x, b+x+k; a+b+x-1+k; z)
    ((alpha+T) / (alpha+T+t))^(r+x), z = t / (alpha+T+t); Pareto/NBD (1 - ((beta+T)/(beta+T+t))^(s-1)) / (s-1)."""
    if model_name == "pareto_nbd":
        _, _, s, beta = params
        return _power_term(s - 1, (beta + page) / (beta + page + t))
    r, alpha, a, b = params
    k = int(model_name == "mbg_nbd")
    _a, _b, _c = r + px, b + px + k, a + b + px - 1 + k
    z = t / (alpha + page + t)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ln_hyp = np.log(hyp2f1(_a, _b, _c, z))
        overflowed = ~np.isfinite(ln_hyp)
        if overflowed.any():
            # where 2F1 overflows, the Euler transformation of it
            _ao, _bo, _co, zo = _a[overflowed], _b[overflowed], _c[overflowed], z[overflowed]
            ln_hyp[overflowed] = np.log(hyp2f1(_co - _ao, _co - _bo, _co, zo)) + (_co - _ao - _bo) * np.log1p(-zo)
        return 1 - np.exp(ln_hyp + (r + px) * np.log((alpha + page) / (alpha + page + t)))


def _customer_factor(model_name, params, frequency, recency, age, pairs=None):
    """The term of the history, per customer: BG/NBD, MBG/NBD (a+b+x-1+k)/(a-1) / (1 + [x>0 or k=1] a/(b+x-1+k)
    ((alpha+T)/(alpha+t_x))^(r+x)); Pareto/NBD (r+x)(beta+T)/(alpha+T) P(alive)."""
    x = np.asarray(frequency, dtype=float)
    age = np.asarray(age, dtype=float)
    if model_name == "pareto_nbd":
        r, alpha, _, beta = params
        p_alive = probability_alive(model_name, params, x, recency, age, pairs)
        return (r + x) * (beta + age) / (alpha + age) * p_alive
    r, alpha, a, b = params
    k = int(model_name == "mbg_nbd")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        denominator = 1 + ((x > 0) | (k == 1)) * (a / (b + x - 1 + k)) * np.exp(
            (r + x) * np.log((alpha + age) / (alpha + recency))
        )
    return (a + b + x - 1 + k) / (a - 1) / denominator


def pareto_log_integral(r, alpha, s, beta, x, t):
    """ln of the term of the Pareto/NBD likelihood whose difference between t_x and T is A0 (Fader, Hardie
    & Lee 2005c, eqs. 19-20), through Euler's transformation of its 2F1 (a series of positive terms). The
    same function as int_clv_models_fitted's (a dbt Python model cannot import another); the checks hold
    both to lifetimes' likelihood and P(alive)."""
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


def expected_purchases(model_name, params, t, frequency, recency, age, pairs=None, factor=None):
    """E[purchases in (T, T + t]] for customers with history (x, t_x, T) under the model. t is one horizon
    (a scalar); pairs is distinct_pairs(frequency, age, recency), computed once by the caller, and factor
    the model's term of the history (_customer_factor), where the caller has it for these parameters."""
    t = float(t)
    if t <= 0:
        return np.zeros(np.shape(frequency))
    pairs = pairs if pairs is not None else distinct_pairs(frequency, age, recency)
    px, page, inverse = pairs[:3]
    if factor is None:
        factor = _customer_factor(model_name, params, frequency, recency, np.asarray(age, dtype=float), pairs)
    return factor * _pair_term(model_name, params, t, px, page)[inverse]


def probability_alive(model_name, params, frequency, recency, age, pairs=None):
    """P(alive | x, t_x, T) as a logistic of the log-odds (no overflow on long histories). BG/NBD: 1 at x = 0;
    MBG/NBD: its log-odds of death at every x; Pareto/NBD: 1 / (1 + s/(r+s+x) A0 / e^A1) (FHL 2005c)."""
    x = np.asarray(frequency, dtype=float)
    recency, age = np.asarray(recency, dtype=float), np.asarray(age, dtype=float)
    if model_name == "pareto_nbd":
        r, alpha, s, beta = params
        if pairs is not None and len(pairs) == 6:
            # per distinct (x, t_x) and (x, T) pair, gathered per customer
            px, page, inverse, rx, rrec, rinverse = pairs
            high = pareto_log_integral(r, alpha, s, beta, rx, rrec)[rinverse]
            low = pareto_log_integral(r, alpha, s, beta, px, page)[inverse]
        else:
            high = pareto_log_integral(r, alpha, s, beta, x, recency)
            low = pareto_log_integral(r, alpha, s, beta, x, age)
        with np.errstate(divide="ignore"):
            log_a0 = high + np.log(-np.expm1(np.minimum(low - high, 0.0)))
        a1 = -(r + x) * np.log(alpha + age) - s * np.log(beta + age)
        return expit(a1 - np.log(s / (r + s + x)) - log_a0)
    r, alpha, a, b = params
    k = int(model_name == "mbg_nbd")
    log_odds = (r + x) * np.log((alpha + age) / (alpha + recency)) + np.log(a / (b + np.maximum(x, 1 - k) - 1 + k))
    return np.where((x == 0) & (k == 0), 1.0, expit(-log_odds))


def discounted_purchases(model_name, params, horizon_years, annual_discount, unit_days, frequency, recency, age, pairs):
    """Sum over the months of the horizon of the expected purchases in the month, discounted monthly
    (int_customers_predicted multiplies it by the expected spend and the margin into the predicted CLV).
    The expected purchases factor into a term of the history and a term of (x, T) and t, so the
    discounted monthly increments are summed per (x, T) pair."""
    monthly = (1 + annual_discount) ** (1 / 12) - 1
    step = DAYS_PER_MONTH / unit_days
    px, page, inverse = pairs[:3]
    discounted = np.zeros(len(px))
    previous = np.zeros(len(px))
    for month in range(1, 12 * horizon_years + 1):
        cumulative = _pair_term(model_name, params, month * step, px, page)
        discounted += (cumulative - previous) / (1 + monthly) ** month
        previous = cumulative
    return _customer_factor(model_name, params, frequency, recency, age, pairs) * discounted[inverse]


def elasticities(prediction, params, base=None):
    """d ln(prediction) / d ln(theta_k) for k = 1 .. 4 (the model's parameters): forward differences of
    prediction(params) -> array in the log-parameters, from base = prediction(params) where the caller has it.
    With the fit's covariance of the log-parameters they give the delta-method variance of ln(prediction)
    (int_customers_predicted)."""
    log_params = np.log(np.asarray(params, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        base = np.log(prediction(params) if base is None else base)
        columns = []
        for k in range(len(log_params)):
            shifted = log_params.copy()
            shifted[k] += ELASTICITY_STEP
            columns.append((np.log(prediction(tuple(np.exp(shifted)))) - base) / ELASTICITY_STEP)
    return columns


COLUMNS = [
    "fit",
    "model",
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
    *[f"{label}_elasticity_{k}" for label in ("discounted_purchases", "expected_purchases_365d") for k in range(1, 5)],
]


def _converged_parameters(fitted, fit, model_name):
    rows = fitted[(fitted["fit"] == fit) & (fitted["model"] == model_name)].set_index("parameter")
    if len(rows) and bool(rows["is_converged"].iloc[0]):
        return tuple(float(rows.loc[n, "value"]) for n in PURCHASE_MODELS[model_name])
    return None


def predict_histories(frame, params_of, horizons, horizon_years, annual_discount, unit_days):
    """The predictions of every purchase model for one fit's histories (frame: frequency, recency,
    customer_age, is_valued), as {column: array or None (null throughout)} per model; params_of(model) is the
    model's converged parameters or None (its predictions null). The distinct pairs are the histories', shared
    by the models."""
    f = np.asarray(frame["frequency"], dtype=float)
    tx = np.asarray(frame["recency"], dtype=float)
    age = np.asarray(frame["customer_age"], dtype=float)
    valued = np.asarray(frame["is_valued"], dtype=bool)
    pairs = distinct_pairs(f, age, tx)
    vf, vtx, vage = f[valued], tx[valued], age[valued]
    v_pairs = distinct_pairs(vf, vage, vtx) if valued.any() else None
    for model_name in PURCHASE_MODELS:
        params = params_of(model_name)
        columns = dict.fromkeys(COLUMNS[5:])  # None: null throughout
        if params:
            columns["p_alive"] = probability_alive(model_name, params, f, tx, age, pairs)
            factor = _customer_factor(model_name, params, f, tx, age, pairs)
            for label, days in horizons:
                columns[f"expected_purchases_{label}"] = expected_purchases(
                    model_name, params, days / unit_days, f, tx, age, pairs, factor
                )
        if params and v_pairs is not None:
            # the discounted sum and the elasticities: the full fit's customer histories only

            def discounted(theta, model_name=model_name):
                return discounted_purchases(
                    model_name, theta, horizon_years, annual_discount, unit_days, vf, vtx, vage, v_pairs
                )

            def next_year(theta, model_name=model_name):
                return expected_purchases(model_name, theta, 365 / unit_days, vf, vtx, vage, v_pairs)

            def spread(values):
                if valued.all():
                    return values
                out = np.full(len(f), np.nan)
                out[valued] = values
                return out

            base = discounted(params)
            columns["discounted_purchases_horizon"] = spread(base)
            for label, prediction, value in (
                ("discounted_purchases", discounted, base),
                ("expected_purchases_365d", next_year, columns["expected_purchases_365d"][valued]),
            ):
                for k, column in enumerate(elasticities(prediction, params, value), start=1):
                    columns[f"{label}_elasticity_{k}"] = spread(column)
        yield model_name, columns


KEY = ["fit", "frequency", "recency", "customer_age"]
# the columns a run writes beside the predictions: a reused row keeps its dbt_processed_at (the run that
# predicted it), so that the row-level tests of the next run read the rows predicted since the last publish
BOOKKEEPING = ["is_valued", "prediction_signature", "dbt_processed_at"]
# dbt appends its own code to a Python model's after this line (the part that varies between runs)
DBT_PART = "# This part is user provided model code"


def own_code():
    """This file's code up to the part dbt appends, or None where there is no file to read."""
    try:
        with open(__file__, encoding="utf-8") as handle:
            return handle.read().split(DBT_PART)[0]
    except (NameError, OSError):
        return None


def prediction_signature(fitted, settings, code):
    """md5 of what a history's predictions depend on besides the history: every model's fitted parameters
    and convergence, the settings (time unit, horizons, discount rate), the code that predicts and the numpy
    and scipy versions."""
    parameters = fitted[["fit", "model", "parameter", "value", "is_converged"]].sort_values(
        ["fit", "model", "parameter"]
    )
    content = {
        "parameters": [[repr(value) for value in row] for row in parameters.itertuples(index=False)],
        "settings": {name: repr(value) for name, value in settings.items()},
        "code": code,
        "versions": [np.__version__, scipy.__version__],
    }
    return hashlib.md5(json.dumps(content, sort_keys=True).encode("utf-8")).hexdigest()


def reused_predictions(session, relation, histories, signature):
    """The rows of the current histories that the table (the previous run's output) holds under this
    signature, as a DuckDB relation over the table, and the current histories it does not hold (a frame);
    (None, histories) when there is nothing to read (a table written before these columns existed)."""
    present = {row[0] for row in session.execute(f"describe {relation}").fetchall()}
    if not set(COLUMNS + BOOKKEEPING) <= present:
        return None, histories
    current = histories[KEY + ["is_valued"]]  # noqa: F841 (read by the queries below: DuckDB's replacement scan)
    held = (
        f"select * from {relation} as previous where previous.prediction_signature = '{signature}' "
        "and previous.model = 'bg_nbd'"  # every history has a row of each model, written together
    )
    columns = ", ".join(f"previous.{name}" for name in COLUMNS + BOOKKEEPING)
    on = "using (fit, frequency, recency, customer_age, is_valued)"
    reused = session.sql(
        f"select {columns} from {relation} as previous semi join current {on} "
        f"where previous.prediction_signature = '{signature}'"
    )
    missing = session.sql(f"select current.* from current anti join ({held}) as held {on}").df()
    return reused, missing


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="replace",  # macros/incremental.sql: every row replaced by the run's
        on_schema_change="sync_all_columns",
    )
    # the customers' histories and the frequency/recency grid's, once each (a history's predictions depend
    # on the history only)
    # (each dbt.ref on a line of its own: dbt finds a Python model's parents in plain calls only)
    customer_histories = dbt.ref("int_bgnbd_histories").df()
    grid_histories = dbt.ref("int_frequency_recency_grid").df()
    histories = pd.concat(
        [
            customer_histories[KEY].assign(is_valued=customer_histories["fit"] == "full"),
            grid_histories[KEY].assign(is_valued=False),
        ],
        ignore_index=True,
    ).drop_duplicates(KEY)  # the customers' rows first: a grid history that is a customer's is valued
    fitted = dbt.ref("int_clv_models_fitted").df()
    parameters = dbt.ref("int_parameters").df().iloc[0]
    unit_days = float(parameters["time_unit_days"])
    holdout_days = (pd.Timestamp(parameters["as_of_date"]) - pd.Timestamp(parameters["holdout_start_date"])).days
    horizon = int(parameters["clv_horizon_years"])
    horizons = (("30d", 30), ("90d", 90), ("365d", 365), ("horizon", horizon * 365.25), ("holdout", holdout_days))
    discount_rate = float(parameters["discount_rate"])
    code = own_code()
    signature = prediction_signature(
        fitted,
        {"time_unit_days": unit_days, "horizons": horizons, "horizon_years": horizon, "discount_rate": discount_rate},
        code,
    )
    reused = None
    if dbt.is_incremental and code:
        # predicted: the histories the table does not hold under this signature only
        reused, histories = reused_predictions(session, dbt.this, histories, signature)
    # the output as an Arrow table of one chunk per fit x model: the columns are the numpy arrays (no copies)
    chunks = {name: [] for name in COLUMNS + ["is_valued"]}
    for fit, frame in histories.groupby("fit", sort=True):
        for model_name, columns in predict_histories(
            frame,
            lambda model_name, fit=fit: _converged_parameters(fitted, fit, model_name),
            horizons,
            horizon,
            discount_rate,
            unit_days,
        ):
            chunks["fit"].append(pa.repeat(pa.scalar(fit, pa.string()), len(frame)))
            chunks["model"].append(pa.repeat(pa.scalar(model_name, pa.string()), len(frame)))
            for name in ("frequency", "recency", "customer_age"):
                chunks[name].append(frame[name].to_numpy(dtype="int64" if name == "frequency" else float))
            chunks["is_valued"].append(frame["is_valued"].to_numpy(dtype=bool))
            for name, values in columns.items():
                # NaN is null, as in a pandas frame
                chunks[name].append(
                    pa.nulls(len(frame), pa.float64()) if values is None else pa.array(values, from_pandas=True)
                )
    types = {"fit": pa.string(), "model": pa.string(), "frequency": pa.int64(), "is_valued": pa.bool_()}
    schema = pa.schema([(name, types.get(name, pa.float64())) for name in COLUMNS + ["is_valued"]])
    predicted = pa.table([pa.chunked_array(chunks[field.name], type=field.type) for field in schema], schema=schema)
    rows = predicted.num_rows
    # the signature, one string for every row (a dictionary of one)
    signatures = pa.DictionaryArray.from_arrays(pa.array(np.zeros(rows, dtype=np.int8)), pa.array([signature]))
    predicted = predicted.append_column("prediction_signature", signatures)
    written_at = pa.scalar(pd.Timestamp.now(tz="UTC").tz_localize(None).to_datetime64(), pa.timestamp("us"))
    predicted = predicted.append_column("dbt_processed_at", pa.repeat(written_at, rows))
    if reused is None:
        return predicted  # with no history, an empty table of these types
    # the reused rows and the predicted ones, as one DuckDB relation (the reused rows stay in DuckDB)
    return reused.union(session.from_arrow(predicted))
