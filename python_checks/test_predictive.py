"""The purchase models (BG/NBD, MBG/NBD, Pareto/NBD) + Gamma-Gamma: parameters, the model choice and the
per-customer predictions against lifetimes (a test-only reference), on the demo data and on raw orders simulated
from known parameters; degenerate data does not break the build."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from autograd import hessian
from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
from scipy.stats import norm

from python_checks.datasets import write_table
from python_checks.project import build_ok, load_model_module
from python_checks.reference import Config, bgnbd_summary, compute, numerical_pareto_covariance

WEEK = 7.0
TOP_FREQUENCY = 7  # the var diagnostic_max_frequency's default: the diagnostics' top row


PURCHASE_MODELS = {
    # the project's name: lifetimes' fitter and its parameter names (the project's order)
    "bg_nbd": (BetaGeoFitter, ("r", "alpha", "a", "b")),
    "mbg_nbd": (ModifiedBetaGeoFitter, ("r", "alpha", "a", "b")),
    "pareto_nbd": (ParetoNBDFitter, ("r", "alpha", "s", "beta")),
}


def lifetimes_fit(summary):
    f, r, t = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    bg = BetaGeoFitter().fit(f, r, t)
    repeat = summary[summary.frequency > 0]
    gg = GammaGammaFitter().fit(repeat.frequency.to_numpy(float), repeat.monetary_value.to_numpy(float))
    return bg, gg


def lifetimes_model(published, model):
    """lifetimes' fitter of a purchase model with the published parameters (its formulas as the reference)."""
    fitter, names = PURCHASE_MODELS[model]
    reference = fitter()
    reference.params_ = pd.Series({n: published[(model, n)] for n in names})
    return reference


def selected_model(result):
    chosen = result.read("select distinct model from clv_model_parameters where is_selected")
    assert len(chosen) == 1, chosen
    return chosen.model[0]


def published_parameters(result, fit="full"):
    params = result.read(f"select model, parameter, value, is_converged from clv_model_parameters where fit = '{fit}'")
    assert params.is_converged.all(), params
    return {(m, p): v for m, p, v in zip(params.model, params.parameter, params.value, strict=True)}


def assert_parameters_match(published, bg, gg, rtol=1e-3):
    for name in ("r", "alpha", "a", "b"):
        assert published[("bg_nbd", name)] == pytest.approx(bg.params_[name], rel=rtol), name
    for name, theirs in (("p", "p"), ("q", "q"), ("gamma", "v")):
        assert published[("gamma_gamma", name)] == pytest.approx(gg.params_[theirs], rel=rtol), name


@pytest.fixture(scope="module")
def demo_summary(demo_reference):
    return bgnbd_summary(demo_reference["purchases"], demo_reference["as_of_date"], WEEK)


def test_bgnbd_inputs_match_an_independent_summary(demo_build, demo_summary):
    inputs = (
        demo_build.read("select * from int_customers_bgnbd_inputs where fit = 'full'")
        .set_index("customer_id")
        .sort_index()
    )
    expected = demo_summary.set_index("customer_id").sort_index()
    assert list(inputs.index) == list(expected.index)
    assert (inputs.frequency.to_numpy() == expected.frequency.to_numpy()).all()
    np.testing.assert_allclose(inputs.recency, expected.recency, rtol=1e-12)
    np.testing.assert_allclose(inputs.customer_age, expected["T"], rtol=1e-12)
    np.testing.assert_allclose(
        inputs.monetary_value.fillna(-1), pd.Series(expected.monetary_value).fillna(-1), rtol=1e-9
    )


def test_demo_parameters_match_lifetimes(demo_build, demo_summary):
    bg, gg = lifetimes_fit(demo_summary)
    published = published_parameters(demo_build)
    assert_parameters_match(published, bg, gg)
    # MBG/NBD and Pareto/NBD: lifetimes' fitters reach the same optimum, or a lower likelihood than the
    # project's (lifetimes stops earlier on flat likelihoods: Pareto/NBD's s and beta move together)
    f, r, t = (demo_summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    for model in ("mbg_nbd", "pareto_nbd"):
        fitter, names = PURCHASE_MODELS[model]
        theirs = fitter().fit(f, r, t)
        ours = lifetimes_model(published, model)
        ours_ll = log_likelihood(model, ours.params_[list(names)].to_numpy(), f, r, t)
        theirs_ll = log_likelihood(model, theirs.params_[list(names)].to_numpy(), f, r, t)
        assert ours_ll >= theirs_ll - 1e-6, model
        if ours_ll - theirs_ll < 1e-3:
            for name in names:
                assert ours.params_[name] == pytest.approx(theirs.params_[name], rel=0.02), (model, name)


def log_likelihood(model, params, f, r, t):
    """A purchase model's total log-likelihood by lifetimes' own likelihood functions."""
    weights = np.ones(len(f))
    if model == "pareto_nbd":
        return float(ParetoNBDFitter._conditional_log_likelihood(params, f, r, t).sum())
    fitter = PURCHASE_MODELS[model][0]
    return -float(fitter._negative_log_likelihood(np.log(params), f, r, t, weights, 0.0)) * len(f)


def reference_covariance(negative_log_likelihood, params, *data):
    """The covariance of the estimates from lifetimes' own likelihood at the published optimum: autograd's
    exact Hessian of its mean negative log-likelihood in the log-parameters, inverted, over the customers,
    carried to the parameters on both sides (delta method). lifetimes' variance_matrix_ scales one side
    only, so its off-diagonal terms are not used."""
    theta = np.asarray(params, dtype=float)
    weights = np.ones(len(data[0]))
    information = hessian(negative_log_likelihood)(np.log(theta), *data, weights, 0.0) * len(weights)
    return np.outer(theta, theta) * np.linalg.inv(information)


def test_demo_standard_errors_and_covariance_match_lifetimes_likelihood(demo_build, demo_summary):
    params = demo_build.read("select * from clv_model_parameters where fit = 'full'").set_index(["model", "parameter"])
    covariance = demo_build.read("select * from clv_model_covariance where fit = 'full'")
    repeat = demo_summary[demo_summary.frequency > 0]
    histories = tuple(demo_summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    for model, names, likelihood, data, rtol in (
        ("bg_nbd", ["r", "alpha", "a", "b"], BetaGeoFitter._negative_log_likelihood, histories, 1e-5),
        ("mbg_nbd", ["r", "alpha", "a", "b"], ModifiedBetaGeoFitter._negative_log_likelihood, histories, 1e-5),
        # both Hessians of Pareto/NBD are finite differences of the likelihood, and its s and beta are nearly
        # unidentified on the demo data (correlation ~0.99, condition number ~3e3): they agree to ~1e-4
        ("pareto_nbd", ["r", "alpha", "s", "beta"], None, histories, 3e-4),
        (
            "gamma_gamma",
            ["p", "q", "gamma"],
            GammaGammaFitter._negative_log_likelihood,
            (repeat.frequency.to_numpy(float), repeat.monetary_value.to_numpy(float)),
            1e-5,
        ),
    ):
        theta = params.loc[model].loc[names, "value"].to_numpy()
        if likelihood is None:
            expected = numerical_pareto_covariance(theta, *data)
        else:
            expected = reference_covariance(likelihood, theta, *data)
        published = (
            covariance[covariance.model == model]
            .pivot(index="parameter", columns="other_parameter", values="covariance")
            .loc[names, names]
            .to_numpy()
        )
        assert (published == published.T).all(), model
        np.testing.assert_allclose(published, expected, rtol=rtol, err_msg=model)
        standard_error = np.sqrt(np.diag(expected))
        np.testing.assert_allclose(params.loc[model].loc[names, "standard_error"], standard_error, rtol=max(rtol, 1e-4))
        log_se = standard_error / theta  # the interval from the log scale: positive, theta x exp(+-z se_log)
        z = norm.ppf(0.975)
        np.testing.assert_allclose(
            params.loc[model].loc[names, "lower_95"], theta * np.exp(-z * log_se), rtol=max(rtol, 1e-4)
        )
        np.testing.assert_allclose(
            params.loc[model].loc[names, "upper_95"], theta * np.exp(z * log_se), rtol=max(rtol, 1e-4)
        )
        correlation = covariance[covariance.model == model].pivot(
            index="parameter", columns="other_parameter", values="correlation"
        )
        np.testing.assert_allclose(np.diag(correlation.loc[names, names]), 1.0, rtol=1e-12)


def test_demo_predictions_match_lifetimes_formulas(demo_build, demo_summary):
    """customer_clv publishes the selected purchase model's predictions (lifetimes' formulas of that model)."""
    published = published_parameters(demo_build)
    bg, gg = lifetimes_model(published, selected_model(demo_build)), GammaGammaFitter()
    gg.params_ = pd.Series(
        {
            "p": published[("gamma_gamma", "p")],
            "q": published[("gamma_gamma", "q")],
            "v": published[("gamma_gamma", "gamma")],
        }
    )
    s = demo_summary.sort_values("customer_id").reset_index(drop=True)
    f, r, t = (s[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    mart = demo_build.table("customer_clv").set_index("customer_id").loc[s.customer_id]
    np.testing.assert_allclose(mart.p_alive, bg.conditional_probability_alive(f, r, t), rtol=1e-6)
    for label, days in (("30d", 30), ("90d", 90), ("365d", 365), ("horizon", 10 * 365.25)):
        expected = bg.conditional_expected_number_of_purchases_up_to_time(days / WEEK, f, r, t)
        np.testing.assert_allclose(mart[f"expected_purchases_{label}"], expected, rtol=1e-6, err_msg=label)
    spend = np.asarray(
        gg.conditional_expected_average_profit(f, np.nan_to_num(s.monetary_value.to_numpy(float))), dtype=float
    )
    np.testing.assert_allclose(mart.expected_spend_per_purchase, spend, rtol=1e-6)
    # predicted CLV: monthly steps of 365.25 / 12 days, discounted at (1.10)^(1/12) - 1, times the customer's margin
    step, monthly, clv, previous = 365.25 / 12 / WEEK, 1.10 ** (1 / 12) - 1, np.zeros(len(s)), np.zeros(len(s))
    for month in range(1, 121):
        cumulative = bg.conditional_expected_number_of_purchases_up_to_time(month * step, f, r, t)
        clv += (cumulative - previous) * spend * s.margin.to_numpy(float) / (1 + monthly) ** month
        previous = cumulative
    np.testing.assert_allclose(mart.predicted_clv, clv, rtol=1e-6)


Z_90 = norm.ppf(0.95)


def test_demo_prediction_intervals_equal_a_numerical_delta_method(demo_build, demo_summary, demo_reference):
    """The 90% intervals recomputed from lifetimes' prediction formulas: each customer's predicted CLV (and
    expected purchases in 365 days) as a function of the seven log-parameters, differentiated numerically,
    with the published covariance (checked against autograd above), on the log scale; a segment's
    per-customer mean through the mean of its customers' gradients."""
    params = demo_build.read("select * from clv_model_parameters where fit = 'full'").set_index(["model", "parameter"])
    covariance = demo_build.read("select * from clv_model_covariance where fit = 'full'")
    model = selected_model(demo_build)
    fitter, purchase_names = PURCHASE_MODELS[model]
    names = {model: list(purchase_names), "gamma_gamma": ["p", "q", "gamma"]}
    theta = np.concatenate([params.loc[part].loc[names[part], "value"].to_numpy() for part in names])
    blocks = [
        covariance[covariance.model == part]
        .pivot(index="parameter", columns="other_parameter", values="log_scale_covariance")
        .loc[names[part], names[part]]
        .to_numpy()
        for part in names
    ]
    sigma = np.zeros((7, 7))
    sigma[:4, :4], sigma[4:, 4:] = blocks  # the two fits are independent
    s = demo_summary.sort_values("customer_id").reset_index(drop=True)
    f, r, t = (s[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    m, margin = np.nan_to_num(s.monetary_value.to_numpy(float)), s.margin.to_numpy(float)

    def predictions(log_theta):
        values = np.exp(log_theta)
        bg, gg = fitter(), GammaGammaFitter()
        bg.params_ = pd.Series(dict(zip(names[model], values[:4], strict=True)))
        gg.params_ = pd.Series(dict(zip(["p", "q", "v"], values[4:], strict=True)))
        spend = np.asarray(gg.conditional_expected_average_profit(f, m), dtype=float)
        step, monthly, discounted, previous = 365.25 / 12 / WEEK, 1.10 ** (1 / 12) - 1, np.zeros(len(s)), 0.0
        for month in range(1, 121):
            cumulative = bg.conditional_expected_number_of_purchases_up_to_time(month * step, f, r, t)
            discounted += (cumulative - previous) / (1 + monthly) ** month
            previous = cumulative
        year = bg.conditional_expected_number_of_purchases_up_to_time(365 / WEEK, f, r, t)
        return discounted * spend * margin, year

    base = np.log(theta)
    clv, year = predictions(base)
    gradients = [np.zeros((len(s), 7)), np.zeros((len(s), 7))]
    for k in range(7):
        shift = np.zeros(7)
        shift[k] = 1e-5
        up, down = predictions(base + shift), predictions(base - shift)
        for gradient, plus, minus in zip(gradients, up, down, strict=True):
            gradient[:, k] = (plus - minus) / 2e-5
    mart = demo_build.table("customer_clv").set_index("customer_id").loc[s.customer_id]
    for name, value, gradient in (
        ("predicted_clv", clv, gradients[0]),
        ("expected_purchases_365d", year, gradients[1]),
    ):
        # the standard deviation of ln|value| (a negative margin makes a negative CLV, its interval reversed);
        # the project differentiates forward at a 1e-5 step, so the intervals agree to ~1e-5
        sd = np.sqrt(np.einsum("ij,jk,ik->i", gradient, sigma, gradient)) / np.abs(value)
        ends = value * np.exp(-Z_90 * sd), value * np.exp(Z_90 * sd)
        np.testing.assert_allclose(mart[f"{name}_lower_90"], np.minimum(*ends), rtol=1e-4, err_msg=name)
        np.testing.assert_allclose(mart[f"{name}_upper_90"], np.maximum(*ends), rtol=1e-4, err_msg=name)
    segments = demo_build.read("select * from segment_clv").set_index(["segment_dimension", "segment_value"])
    channels = mart.acquisition_channel.to_numpy()
    purchases = demo_reference["purchases"]
    as_of = pd.Timestamp(demo_reference["as_of_date"])
    profit = purchases.groupby("customer_id").gross_profit.sum().loc[s.customer_id].to_numpy()
    first_purchase = purchases.groupby("customer_id").order_date.min().loc[s.customer_id].to_numpy()
    for key, members in [(("all", "all"), np.ones(len(s), bool))] + [
        (("acquisition_channel", channel), channels == channel) for channel in np.unique(channels)
    ]:
        mean, gradient = clv[members].mean(), gradients[0][members].mean(axis=0)
        sd = np.sqrt(gradient @ sigma @ gradient) / mean
        row = segments.loc[key]
        assert row.predicted_clv_per_customer == pytest.approx(mean, rel=1e-6), key
        assert row.predicted_clv_per_customer_lower_90 == pytest.approx(mean * np.exp(-Z_90 * sd), rel=1e-4), key
        assert row.predicted_clv_per_customer_upper_90 == pytest.approx(mean * np.exp(Z_90 * sd), rel=1e-4), key
        # the predictive LTV of the customers acquired in W: gross profit to date + predicted CLV, vs CAC
        new = members & (first_purchase > as_of - pd.DateOffset(months=12))
        known, future, gradient = profit[new].mean(), clv[new].mean(), gradients[0][new].mean(axis=0)
        sd = np.sqrt(gradient @ sigma @ gradient) / abs(future)
        assert row.predicted_ltv_per_new_customer == pytest.approx(known + future, rel=1e-6), key
        assert row.predicted_ltv_per_new_customer_lower_90 == pytest.approx(
            known + future * np.exp(-Z_90 * sd), rel=1e-4
        ), key
        assert row.predicted_ltv_per_new_customer_upper_90 == pytest.approx(
            known + future * np.exp(Z_90 * sd), rel=1e-4
        ), key
        ltv, cac = known + future, row.cac
        if pd.isna(cac):
            assert pd.isna(row.predicted_ltv_to_cac_ratio) and row.predicted_ltv_cac_health == "unknown", key
        else:
            if cac > 0:
                assert row.predicted_ltv_to_cac_ratio == pytest.approx(ltv / cac, rel=1e-6), key
            health = "healthy" if ltv >= 3 * cac else "marginal" if ltv >= cac else "unprofitable"
            assert row.predicted_ltv_cac_health == health, key


def test_segment_predicted_clv_is_the_mean_of_its_customers(demo_build):
    customers = demo_build.table("customer_clv")
    segments = demo_build.read("select * from segment_clv where segment_dimension = 'acquisition_channel'").set_index(
        "segment_value"
    )
    expected = customers.groupby("acquisition_channel").predicted_clv.mean()
    np.testing.assert_allclose(segments.loc[expected.index, "predicted_clv_per_customer"], expected, rtol=1e-9)


def test_backtest_actuals_and_predictions(demo_build, demo_reference):
    backtest = demo_build.table("clv_backtest").set_index(["model", "metric"]).value
    purchases = demo_reference["purchases"]
    holdout_start = demo_reference["as_of_date"] - pd.DateOffset(months=6)
    calibration = set(purchases[purchases.order_date <= holdout_start].customer_id)
    holdout = purchases[(purchases.order_date > holdout_start) & purchases.customer_id.isin(calibration)]
    actual_occasions = holdout.groupby(["customer_id", "order_date"]).ngroups
    for model in [f"{name}_gamma_gamma" for name in PURCHASE_MODELS] + ["heuristic"]:
        assert backtest[(model, "actual_purchases")] == actual_occasions
        assert backtest[(model, "actual_revenue")] == pytest.approx(holdout.net_revenue.sum(), rel=1e-9)
    predicted = demo_build.read(
        "select sum(expected_purchases_holdout) as n from int_customers_predicted where fit = 'calibration'"
    ).n[0]
    chosen = selected_model(demo_build)
    assert backtest[(f"{chosen}_gamma_gamma", "predicted_purchases")] == pytest.approx(predicted, rel=1e-9)
    # the calibration fit: lifetimes on the independent summary at the holdout start
    summary = bgnbd_summary(purchases, holdout_start, WEEK)
    bg, gg = lifetimes_fit(summary)
    published = published_parameters(demo_build, "calibration")
    assert_parameters_match(published, bg, gg)
    # each purchase model's holdout prediction by lifetimes' formulas with the published calibration fit
    f, r, t = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    horizon = (demo_reference["as_of_date"] - holdout_start).days / WEEK
    errors = {}
    for model in PURCHASE_MODELS:
        expected = lifetimes_model(published, model).conditional_expected_number_of_purchases_up_to_time(
            horizon, f, r, t
        )
        assert backtest[(f"{model}_gamma_gamma", "predicted_purchases")] == pytest.approx(expected.sum(), rel=1e-6)
        errors[model] = expected.sum() / actual_occasions - 1
    # the model choice (purchase_model auto): the lowest absolute relative error, bg_nbd within 1 point of it
    parameters = demo_build.read("select * from clv_model_parameters where fit = 'full'")
    for model, error in errors.items():
        rows = parameters[parameters.model == model]
        np.testing.assert_allclose(rows.holdout_relative_error, error, rtol=1e-6)
    best = min(errors, key=lambda model: abs(errors[model]))
    expected_choice = "bg_nbd" if abs(errors["bg_nbd"]) <= abs(errors[best]) + 0.01 else best
    assert chosen == expected_choice, errors
    reasons = parameters[parameters.model != "gamma_gamma"].selection_reason.unique()
    assert len(reasons) == 1 and reasons[0].startswith("auto: ") and best in reasons[0], reasons
    assert f"{100 * abs(errors[best]):.1f}%" in reasons[0], reasons
    assert parameters[parameters.model == "gamma_gamma"].selection_reason.isna().all()
    # AIC and BIC from the log-likelihood, parameters and customers
    for _, rows in parameters.groupby(["fit", "model"]):
        k, n, ll = len(rows), rows.customers_used.iloc[0], rows.log_likelihood.iloc[0]
        np.testing.assert_allclose(rows.aic, 2 * k - 2 * ll, rtol=1e-12)
        np.testing.assert_allclose(rows.bic, k * np.log(n) - 2 * ll, rtol=1e-12)


def test_calibration_holdout_by_calibration_frequency(demo_build, demo_reference):
    """lifetimes' calibration-vs-holdout table, recomputed: calibration customers grouped by their repeat
    occasions (7 and more in one row), mean holdout occasions made and predicted by each model."""
    purchases = demo_reference["purchases"]
    as_of = demo_reference["as_of_date"]
    holdout_start = as_of - pd.DateOffset(months=6)
    summary = bgnbd_summary(purchases, holdout_start, WEEK).set_index("customer_id")
    days = purchases.groupby(["customer_id", "order_date"]).net_revenue.sum().reset_index()
    holdout = days[days.order_date > holdout_start].groupby("customer_id").size()
    summary["actual"] = holdout.reindex(summary.index).fillna(0)
    published = published_parameters(demo_build, "calibration")
    f, r, t = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    for model in PURCHASE_MODELS:
        summary[f"{model}_gamma_gamma"] = lifetimes_model(
            published, model
        ).conditional_expected_number_of_purchases_up_to_time((as_of - holdout_start).days / WEEK, f, r, t)
    models = [f"{model}_gamma_gamma" for model in PURCHASE_MODELS] + ["heuristic"]
    # the heuristic: a customer with an occasion in the 12 months before the holdout start keeps buying at
    # the window's occasions per active customer per year; the others are churned
    window = days[(days.order_date > holdout_start - pd.DateOffset(months=12)) & (days.order_date <= holdout_start)]
    window_occasions = window.groupby("customer_id").size()
    rate = window_occasions.sum() / len(window_occasions) * (as_of - holdout_start).days / 365.25
    summary["heuristic"] = np.where(summary.index.isin(window_occasions.index), rate, 0.0)
    summary["bucket"] = summary.frequency.clip(upper=TOP_FREQUENCY)
    mart = demo_build.table("clv_calibration_holdout").set_index(["model", "calibration_frequency"]).sort_index()
    assert len(mart) == len(models) * summary.bucket.nunique()
    for model in models:
        expected = summary.groupby("bucket").agg(
            customers=("actual", "size"), actual=("actual", "mean"), predicted=(model, "mean")
        )
        published = mart.loc[model].loc[expected.index]
        assert (published.customers.to_numpy() == expected.customers.to_numpy()).all()
        np.testing.assert_allclose(published.actual_purchases_per_customer, expected.actual, rtol=1e-12)
        np.testing.assert_allclose(published.predicted_purchases_per_customer, expected.predicted, rtol=1e-6)
        assert list(published.is_top_frequency) == [bucket == TOP_FREQUENCY for bucket in expected.index]
    # the rows add up to the backtest's totals
    backtest = demo_build.table("clv_backtest").set_index(["model", "metric"]).value
    totals = mart.groupby(level="model")[["actual_purchases", "predicted_purchases"]].sum()
    for model in models:
        assert totals.loc[model, "actual_purchases"] == backtest[(model, "actual_purchases")]
        assert totals.loc[model, "predicted_purchases"] == pytest.approx(backtest[(model, "predicted_purchases")])


def test_frequency_recency_matrix(demo_build, demo_summary):
    """lifetimes' P(alive) matrix at the oldest customer's age, on each purchase model's published full fit,
    and the customers of each cell counted from the independent summary."""
    matrices = demo_build.table("clv_frequency_recency")
    assert set(matrices.model) == set(PURCHASE_MODELS)
    oldest = demo_summary["T"].max()
    top = min(int(demo_summary.frequency.max()), TOP_FREQUENCY)
    expected_cells = {(0, 0)} | {(x, k) for x in range(1, top + 1) for k in range(21)}
    published_fit = published_parameters(demo_build)
    for model in PURCHASE_MODELS:
        mart = matrices[matrices.model == model]
        assert set(zip(mart.frequency, mart.recency_step, strict=True)) == expected_cells
        assert len(mart) == len(expected_cells)
        np.testing.assert_allclose(mart.customer_age, oldest, rtol=1e-12)
        np.testing.assert_allclose(mart.recency, oldest * mart.recency_step / 20, rtol=1e-12)
        reference = lifetimes_model(published_fit, model)
        f, r = mart.frequency.to_numpy(float), mart.recency.to_numpy(float)
        t = np.full(len(mart), oldest)
        np.testing.assert_allclose(
            mart.p_alive, reference.conditional_probability_alive(f, r, t), rtol=1e-6, atol=1e-12, err_msg=model
        )
        np.testing.assert_allclose(
            mart.expected_purchases_90d,
            reference.conditional_expected_number_of_purchases_up_to_time(90 / WEEK, f, r, t),
            rtol=1e-6,
            atol=1e-12,
            err_msg=model,
        )
        cells = pd.DataFrame(
            {
                "frequency": demo_summary.frequency.clip(upper=TOP_FREQUENCY),
                "recency_step": np.round(20 * demo_summary.recency / oldest).astype(int),
                "p_alive": reference.conditional_probability_alive(
                    *(demo_summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
                ),
            }
        )
        counted = cells.groupby(["frequency", "recency_step"]).agg(
            customers=("p_alive", "size"), mean=("p_alive", "mean")
        )
        published = mart.set_index(["frequency", "recency_step"]).sort_index()
        assert published.customers.sum() == len(demo_summary)
        assert (published.loc[counted.index, "customers"].to_numpy() == counted.customers.to_numpy()).all()
        assert (published.drop(counted.index).customers == 0).all()
        np.testing.assert_allclose(published.loc[counted.index, "customers_p_alive"], counted["mean"], rtol=1e-6)
        # the matrix reads as lifetimes' plot: more repeat purchases long ago mean a customer more likely gone
        matrix = published.p_alive.unstack()
        assert matrix.loc[top, 5] < matrix.loc[1, 5] and matrix.loc[top, 20] > matrix.loc[top, 5], model


def test_period_transactions_against_lifetimes_unconditional_expectation(demo_build, demo_reference):
    """Fader, Hardie & Lee's tracking plot, recomputed per customer: the calibration customers' repeat
    occasions per month counted back from as_of, and lifetimes' E[X(t)] of the calibration fit at each
    customer's age at the month's ends."""
    purchases = demo_reference["purchases"]
    as_of = pd.Timestamp(demo_reference["as_of_date"])
    holdout_start = as_of - pd.DateOffset(months=6)
    days = purchases[["customer_id", "order_date"]].drop_duplicates()
    first = days.groupby("customer_id").order_date.min()
    cohort = first[first <= holdout_start]
    repeat = days[days.customer_id.isin(cohort.index) & (days.order_date > days.customer_id.map(first))]
    published = published_parameters(demo_build, "calibration")
    marts = demo_build.table("clv_period_transactions")
    assert set(marts.model) == set(PURCHASE_MODELS)
    months = (as_of.year - cohort.min().year) * 12 + as_of.month - cohort.min().month + 1
    for model in PURCHASE_MODELS:
        mart = marts[marts.model == model].sort_values("period_number").reset_index(drop=True)
        assert list(mart.period_number) == list(range(1, months + 1))
        check_period_transactions(mart, lifetimes_model(published, model), as_of, holdout_start, cohort, repeat)
    backtest = demo_build.table("clv_backtest").set_index(["model", "metric"]).value
    mart = marts[marts.model == "bg_nbd"]
    assert mart[mart.is_holdout].actual_repeat_purchases.sum() == backtest[("bg_nbd_gamma_gamma", "actual_purchases")]
    assert mart.is_holdout.sum() == 6


def check_period_transactions(mart, bg, as_of, holdout_start, cohort, repeat):
    for row in mart.itertuples():
        start, end = (
            as_of - pd.DateOffset(months=row.period_number),
            as_of - pd.DateOffset(months=row.period_number - 1),
        )
        assert (pd.Timestamp(row.period_start), pd.Timestamp(row.period_end)) == (start, end)
        assert row.is_holdout == (start >= holdout_start)
        acquired = cohort[cohort < end]
        assert row.customers == len(acquired)
        assert row.actual_repeat_purchases == ((repeat.order_date > start) & (repeat.order_date <= end)).sum()
        ages = [((boundary - acquired).dt.days.clip(lower=0) / WEEK).to_numpy() for boundary in (start, end)]
        expected = (
            bg.expected_number_of_purchases_up_to_time(ages[1]) - bg.expected_number_of_purchases_up_to_time(ages[0])
        ).sum()
        assert row.expected_repeat_purchases == pytest.approx(expected, rel=1e-6), (row.model, row.period_number)


def simulate_raw_orders(folder, n=5000, r=0.25, alpha=4.0, a=0.8, b=2.5, p=6.0, q=4.0, gamma=15.0, seed=7):
    """Raw orders drawn from BG/NBD (weekly purchase rate lambda ~ Gamma(r, alpha), dropout p ~ Beta(a, b))
    and Gamma-Gamma spend (nu ~ Gamma(q, gamma), spend ~ Gamma(p, nu)); first purchases spread over 30 weeks."""
    rng = np.random.default_rng(seed)
    end = dt.date(2025, 12, 31)
    rows = []
    for c in range(n):
        lam = rng.gamma(r, 1 / alpha)
        drop = rng.beta(a, b)
        nu = rng.gamma(q, 1 / gamma)
        start_day = int(rng.integers(0, 210))
        observed_days = 273 + 210 - start_day  # 39 weeks of calibration-like history or more
        t, k, alive = 0.0, 0, True
        while alive and t * 7 <= observed_days:
            day = end - dt.timedelta(days=observed_days - int(t * 7))
            rows.append(
                [f"S{c}-{k}", f"S{c}", f"{day.isoformat()} 12:00:00", f"{rng.gamma(p, 1 / nu):.6f}", "completed", "USD"]
            )
            k += 1
            if k > 1 and rng.random() < drop:
                alive = False
            t += rng.exponential(1 / lam) if lam > 0 else 1e9
    write_table(folder, "orders", ["order_id", "customer_id", "ordered_at", "order_total", "status", "currency"], rows)
    return folder


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    work = tmp_path_factory.mktemp("simulated")
    raw = simulate_raw_orders(work / "raw")
    result = build_ok("build", work, {"raw_data_dir": str(raw), "as_of_date": "2025-12-31"})
    reference = compute(raw, Config(as_of_date="2025-12-31"))
    return result, bgnbd_summary(reference["purchases"], reference["as_of_date"], WEEK)


def test_simulated_parameters_match_lifetimes_and_recover_the_truth(simulated):
    result, summary = simulated
    bg, gg = lifetimes_fit(summary)
    published = published_parameters(result)
    assert_parameters_match(published, bg, gg)
    truth = {
        ("bg_nbd", "r"): 0.25,
        ("bg_nbd", "alpha"): 4.0,
        ("bg_nbd", "a"): 0.8,
        ("bg_nbd", "b"): 2.5,
        ("gamma_gamma", "p"): 6.0,
        ("gamma_gamma", "q"): 4.0,
        ("gamma_gamma", "gamma"): 15.0,
    }
    se = dict(zip([("bg_nbd", n) for n in ("r", "alpha", "a", "b")], bg.summary["se(coef)"], strict=True))
    se.update(dict(zip([("gamma_gamma", n) for n in ("p", "q", "gamma")], gg.summary["se(coef)"], strict=True)))
    for key, true_value in truth.items():
        # within 4 standard errors (lifetimes' Hessian-based errors): sampling error, not a bias
        assert abs(published[key] - true_value) < 4 * se[key], (key, published[key], true_value, se[key])


def test_degenerate_data_reports_not_converged_and_still_builds(tmp_path):
    orders = [
        [f"O{i}", f"C{i}", f"2025-0{1 + i % 9}-1{i % 10} 10:00:00", "25.00", "completed", "USD"] for i in range(40)
    ]
    write_table(
        tmp_path / "raw",
        "orders",
        ["order_id", "customer_id", "ordered_at", "order_total", "status", "currency"],
        orders,
    )
    result = build_ok("build", tmp_path, {"raw_data_dir": str(tmp_path / "raw")})
    params = result.table("clv_model_parameters")
    assert not params.is_converged.any()
    assert params.convergence_message.str.contains("too few repeat buyers").all()
    assert params.value.isna().all()
    customers = result.table("customer_clv")
    assert len(customers) == 40 and customers.p_alive.isna().all() and customers.predicted_clv.isna().all()
    assert "did not converge: too few repeat buyers" in result.output
    assert result.read("select count(*) as n from segment_clv").n[0] > 0
    # no model has a holdout error: the choice falls back to BG/NBD and says why
    reasons = params[params.model != "gamma_gamma"].selection_reason.unique()
    assert list(reasons) == [
        "auto: no purchase model has a holdout error (no holdout purchases, or no model with converged"
        " calibration and full fits): bg_nbd by default"
    ]
    assert set(params[params.is_selected].model) == {"bg_nbd"}
    assert "CLV purchase model: bg_nbd (auto: no purchase model has a holdout error" in result.output


def test_a_single_order_builds_every_predictive_mart(tmp_path):
    """One customer, one order on the as-of day: every age is 0 (the frequency/recency matrix has one cell)
    and no customer is old enough for the backtest; the build passes and nothing is lost."""
    write_table(
        tmp_path / "raw",
        "orders",
        ["order_id", "customer_id", "ordered_at", "order_total"],
        [["O1", "C1", "2024-05-05 10:00:00", "10.00"]],
    )
    result = build_ok("build", tmp_path, {"raw_data_dir": str(tmp_path / "raw")})
    matrix = result.table("clv_frequency_recency")
    cells = sorted(zip(matrix.model, matrix.frequency, matrix.recency_step, matrix.customers, strict=True))
    assert cells == [(model, 0, 0, 1) for model in sorted(PURCHASE_MODELS)]
    assert result.table("clv_calibration_holdout").empty
    assert result.table("clv_period_transactions").empty
    assert (result.table("clv_backtest").customers == 0).all()


def load_fitter():
    return load_model_module("models/intermediate/predictive/int_clv_models_fitted.py")


def central_gradient(function, point, step=1e-6):
    return np.array(
        [(function(point + step * e) - function(point - step * e)) / (2 * step) for e in np.eye(len(point))]
    )


def test_likelihoods_equal_the_per_customer_formulas(demo_build):
    """The fitter's likelihoods (compressed rows, terms per (x, T) and (x, t_x) pair, per-pair gradient
    sums) equal the published per-customer log-likelihoods written out term by term (Fader, Hardie &
    Lee 2005, eq. 6; Gamma-Gamma, Fader, Hardie & Lee 2005b), and their gradients equal central
    differences of those formulas, at random parameter points."""
    from scipy.special import gammaln

    fitted = load_fitter()
    inputs = demo_build.read(
        "select frequency, recency, customer_age, monetary_value from int_customers_bgnbd_inputs where fit = 'full'"
    )
    x, tx, big_t = (inputs[c].to_numpy(float) for c in ("frequency", "recency", "customer_age"))

    def bgnbd(log_params, k=0):
        # k = 1: MBG/NBD (Batislam, Denizel & Filiztekin 2007), a drop-out chance at the first purchase too
        r, alpha, a, b = np.exp(log_params)
        with np.errstate(divide="ignore", invalid="ignore"):
            a4 = np.where((x > 0) | (k == 1), np.log(a) - np.log(b + x - 1 + k) - (r + x) * np.log(alpha + tx), -np.inf)
        ll = (
            gammaln(r + x)
            - gammaln(r)
            + r * np.log(alpha)
            + gammaln(a + b)
            + gammaln(b + x + k)
            - gammaln(b)
            - gammaln(a + b + x + k)
            + np.logaddexp(-(r + x) * np.log(alpha + big_t), a4)
        )
        return -ll.mean()

    def pareto_nbd(log_params):
        # lifetimes' implementation of Fader, Hardie & Lee (2005c) eq. 18 (the 2F1 difference in logs)
        return -ParetoNBDFitter._conditional_log_likelihood(np.exp(log_params), x, tx, big_t).mean()

    repeat = (x > 0) & (inputs.monetary_value.to_numpy(float) > 0)
    gx, gm = x[repeat], inputs.monetary_value.to_numpy(float)[repeat]

    def gamma_gamma(log_params):
        p, q, v = np.exp(log_params)
        ll = (
            gammaln(p * gx + q)
            - gammaln(p * gx)
            - gammaln(q)
            + q * np.log(v)
            + (p * gx - 1) * np.log(gm)
            + p * gx * np.log(gx)
            - (p * gx + q) * np.log(gx * gm + v)
        )
        return -ll.mean()

    (cx, ctx, ct), weights = fitted.compress([x, tx, big_t])
    bg_data = fitted.prepare_bgnbd(cx, ctx, ct, weights)
    mbg_data = fitted.prepare_bgnbd(cx, ctx, ct, weights, shift=1)
    (gxu, gmu), g_weights = fitted.compress([gx, gm])
    gg_data = fitted.prepare_gamma_gamma(gxu, gmu, g_weights)
    rng = np.random.default_rng(11)
    for _ in range(4):
        point = rng.normal([-1.0, 2.0, 0.0, 1.0], 1.0)
        value, gradient = fitted.bgnbd_negative_log_likelihood(point, bg_data)
        assert value == pytest.approx(bgnbd(point), rel=1e-12)
        np.testing.assert_allclose(gradient, central_gradient(bgnbd, point), rtol=1e-5, atol=1e-8)
        value, gradient = fitted.bgnbd_negative_log_likelihood(point, mbg_data)
        assert value == pytest.approx(bgnbd(point, k=1), rel=1e-12)
        np.testing.assert_allclose(gradient, central_gradient(lambda p: bgnbd(p, k=1), point), rtol=1e-5, atol=1e-8)
        # Pareto/NBD at points on both sides of alpha = beta (the 2F1 term changes form there)
        for pareto_point in (rng.normal([-0.5, 2.0, -0.5, 2.5], 0.5), rng.normal([-0.5, 2.5, -0.5, 1.5], 0.5)):
            value, gradient = fitted.pareto_nbd_negative_log_likelihood(pareto_point, bg_data)
            assert value == pytest.approx(pareto_nbd(pareto_point), rel=1e-10)
            np.testing.assert_allclose(gradient, central_gradient(pareto_nbd, pareto_point), rtol=1e-5, atol=1e-8)
        point = rng.normal([0.5, 1.5, 3.0], 1.0)
        value, gradient = fitted.gamma_gamma_negative_log_likelihood(point, gg_data)
        assert value == pytest.approx(gamma_gamma(point), rel=1e-12)
        np.testing.assert_allclose(gradient, central_gradient(gamma_gamma, point), rtol=1e-5, atol=1e-8)


def test_fits_do_not_depend_on_the_order_of_the_rows(demo_build):
    """The same customers in another order give the same parameters to the last bit (an incremental
    run and a full refresh read the rows in different orders)."""
    fitted = load_fitter()
    inputs = demo_build.read("select * from int_customers_bgnbd_inputs where fit = 'full'")
    shuffled = inputs.sample(frac=1.0, random_state=5).reset_index(drop=True)
    for model in PURCHASE_MODELS:
        one = fitted.fit_purchase_model(model, inputs.frequency, inputs.recency, inputs.customer_age)
        other = fitted.fit_purchase_model(model, shuffled.frequency, shuffled.recency, shuffled.customer_age)
        assert one["converged"] and one["params"] == other["params"], model
    bg_a = fitted.fit_bgnbd(inputs.frequency, inputs.recency, inputs.customer_age)
    bg_b = fitted.fit_bgnbd(shuffled.frequency, shuffled.recency, shuffled.customer_age)
    gg_a = fitted.fit_gamma_gamma(inputs.frequency, inputs.monetary_value)
    gg_b = fitted.fit_gamma_gamma(shuffled.frequency, shuffled.monetary_value)
    assert bg_a["converged"] and gg_a["converged"]
    assert bg_a["params"] == bg_b["params"]
    assert gg_a["params"] == gg_b["params"]
    # what the model does: the same fits from the compressed rows of int_bgnbd_histories / int_gamma_gamma_spends
    histories = demo_build.read("select * from int_bgnbd_histories where fit = 'full'")
    spends = demo_build.read("select * from int_gamma_gamma_spends where fit = 'full'")
    assert histories.customers.sum() == len(inputs)
    assert spends.customers.sum() == ((inputs.frequency > 0) & (inputs.monetary_value > 0)).sum()
    bg_c = fitted.fit_bgnbd(histories.frequency, histories.recency, histories.customer_age, histories.customers)
    gg_c = fitted.fit_gamma_gamma(spends.frequency, spends.monetary_value, spends.customers)
    assert bg_c["params"] == bg_a["params"] and bg_c["customers"] == bg_a["customers"]
    assert gg_c["params"] == gg_a["params"] and gg_c["customers"] == gg_a["customers"]


COVERAGE_SHOPS, COVERAGE_CUSTOMERS, COVERAGE_HORIZON_YEARS = 100, 2000, 3
TRUE_BGNBD, TRUE_GAMMA_GAMMA = (0.243, 4.414, 0.793, 2.426), (6.25, 3.74, 15.44)  # CDNOW's, per week


def simulate_histories(n, rng):
    """n customers' (x, t_x, T, m) in weeks drawn from BG/NBD and Gamma-Gamma with the true parameters,
    first purchases spread over 78 weeks."""
    r, alpha, a, b = TRUE_BGNBD
    p, q, gamma = TRUE_GAMMA_GAMMA
    rate, dropout, age = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n), rng.uniform(1, 78, n)
    clock, last, x, alive = np.zeros(n), np.zeros(n), np.zeros(n), np.ones(n, dtype=bool)
    while alive.any():
        clock = clock + rng.exponential(1.0, n) / np.maximum(rate, 1e-12)
        buys = alive & (clock <= age)
        x += buys
        last = np.where(buys, clock, last)
        alive = buys & (rng.random(n) >= dropout)
    nu = rng.gamma(q, 1 / gamma, n)
    m = np.where(x > 0, rng.gamma(p * np.maximum(x, 1), 1 / nu) / np.maximum(x, 1), np.nan)
    return x, last, age, m


def test_segment_interval_covers_the_true_expected_clv_in_90_of_100_shops():
    """Coverage of the published 90% interval of a segment's predicted CLV per customer: 100 shops of 2,000
    customers simulated (seeded) from known BG/NBD and Gamma-Gamma parameters, each fitted with the project's
    fitters (covariance included) and predicted with its prediction code and elasticities; the interval is
    int_segments_predicted's (the mean of the customers' CLV sensitivities, its quadratic form with the
    covariances, on the log scale), over the whole shop. The truth is the shop's mean expected CLV under
    the true parameters, by lifetimes' formulas. A 90% interval should hold it in about 90 of 100 shops
    (83 to 96 holds 98% of the binomial(100, 0.9)). A three-year horizon keeps the test short; the method does not
    depend on it."""
    fitted, predicted = (
        load_fitter(),
        load_model_module("models/intermediate/predictive/int_bgnbd_histories_predicted.py"),
    )
    truth_bg, truth_gg = BetaGeoFitter(), GammaGammaFitter()
    truth_bg.params_ = pd.Series(dict(zip(["r", "alpha", "a", "b"], TRUE_BGNBD, strict=True)))
    truth_gg.params_ = pd.Series(dict(zip(["p", "q", "v"], TRUE_GAMMA_GAMMA, strict=True)))
    step, monthly = 365.25 / 12 / WEEK, 1.10 ** (1 / 12) - 1
    covered, widths = 0, []
    for seed in range(COVERAGE_SHOPS):
        x, tx, age, m = simulate_histories(COVERAGE_CUSTOMERS, np.random.default_rng(seed))
        bg, gg = fitted.fit_purchase_model("bg_nbd", x, tx, age), fitted.fit_gamma_gamma(x, m)
        assert bg["converged"] and gg["converged"], seed
        pairs = predicted.distinct_pairs(x, age, tx)

        def discounted(theta, x=x, tx=tx, age=age, pairs=pairs):
            return predicted.discounted_purchases(
                "bg_nbd", theta, COVERAGE_HORIZON_YEARS, 0.10, WEEK, x, tx, age, pairs
            )

        purchases = discounted(bg["params"])
        purchase_elasticities = np.column_stack(predicted.elasticities(discounted, bg["params"]))
        # Gamma-Gamma's expected spend and its elasticities (int_customers_predicted, analytic)
        p, q, v = gg["params"]
        population, weight = v * p / (q - 1), p * x / (p * x + q - 1)
        spend = (1 - weight) * population + weight * np.nan_to_num(m)
        slope = (1 - weight) * population + weight * (1 - weight) * (np.nan_to_num(m) - population)
        spend_elasticities = np.column_stack([slope, -q / (q - 1) * slope, (1 - weight) * population]) / spend[:, None]
        clv = purchases * spend
        mean = clv.mean()
        gradient = np.concatenate(
            [(clv[:, None] * purchase_elasticities).mean(axis=0), (clv[:, None] * spend_elasticities).mean(axis=0)]
        )
        sigma = np.zeros((7, 7))
        sigma[:4, :4], sigma[4:, 4:] = bg["log_covariance"], gg["log_covariance"]
        sd = np.sqrt(gradient @ sigma @ gradient) / mean
        lower, upper = mean * np.exp(-Z_90 * sd), mean * np.exp(Z_90 * sd)
        # the truth: lifetimes' expected purchases month by month under the true parameters
        true_purchases, previous = np.zeros(len(x)), 0.0
        for month in range(1, 12 * COVERAGE_HORIZON_YEARS + 1):
            cumulative = truth_bg.conditional_expected_number_of_purchases_up_to_time(month * step, x, tx, age)
            true_purchases += (cumulative - previous) / (1 + monthly) ** month
            previous = cumulative
        true_spend = np.asarray(truth_gg.conditional_expected_average_profit(x, np.nan_to_num(m)), dtype=float)
        truth = (true_purchases * true_spend).mean()
        covered += lower <= truth <= upper
        widths.append((upper - lower) / mean)
    print(f"\ncoverage: {covered} of {COVERAGE_SHOPS} shops; median interval width {np.median(widths):.1%} of the mean")
    assert 83 <= covered <= 96


def test_refit_decision_follows_each_rule_of_the_policy():
    """docs/definitions.md, "Refit policy": the rules in their order, on a published fit made on 2025-12-01."""
    fitted = load_model_module("models/intermediate/predictive/int_clv_models_fitted.py")
    rows = [
        ("full", "bg_nbd", True, True, 1000),
        ("full", "mbg_nbd", False, False, 1000),  # an unselected model that did not converge: no reason to refit
        ("full", "gamma_gamma", False, True, 400),
        ("calibration", "bg_nbd", True, True, 900),
    ]
    parameters = pd.DataFrame(
        [
            {"fit": f, "model": m, "is_selected": s, "is_converged": c, "customers_used": n, "fit_settings": "S"}
            for f, m, s, c, n in rows
        ]
    ).assign(fitted_as_of=dt.date(2025, 12, 1))
    published = {"parameters": parameters, "covariance": pd.DataFrame()}

    def decide(policy="weekly", as_of="2025-12-04", settings="S", customers=1050, fit=published, growth=0.10):
        return fitted.refit_decision(policy, growth, pd.Timestamp(as_of), settings, customers, fit)

    assert decide(policy="always") == (True, "refit: refit is always")
    assert decide(fit=None)[1] == "refit: no published fit to reuse"
    assert decide(settings="T")[1].startswith("refit: the published fit was made under other settings")
    assert decide(as_of="2025-11-30")[1].startswith("refit: the as-of 2025-11-30 is before")
    unconverged = dict(published, parameters=parameters.assign(is_converged=parameters.model == "mbg_nbd"))
    assert decide(fit=unconverged)[1] == "refit: the published fit of the model in use did not converge"
    assert decide(as_of="2025-12-07") == (
        False,
        "reused: the fit of 2025-12-01, 6 days old (refit weekly; customers +5.0%)",
    )
    assert decide(as_of="2025-12-08")[0] and "7 days old (refit weekly: 7 days)" in decide(as_of="2025-12-08")[1]
    assert not decide(policy="monthly", as_of="2025-12-28")[0]
    assert decide(policy="monthly", as_of="2025-12-29")[0]
    assert not decide(policy="never", as_of="2027-01-01")[0]
    assert decide(customers=1101)[1] == "refit: the customers of the fit changed by +10.1% since it (refit_growth 0.1)"
    assert decide(customers=899)[0] and not decide(customers=1100)[0]
    assert not decide(customers=1150, growth=0.2)[0]
