-- Grain: fit x model x parameter. The fitted purchase models' (BG/NBD, MBG/NBD: r, alpha, a, b; Pareto/NBD:
-- r, alpha, s, beta) and Gamma-Gamma's (p, q, gamma) parameters, with log-likelihood, AIC, BIC, customers used
-- and convergence, for the full fit (as_of) and the backtest calibration fit; the standard error (delta method
-- from the log scale) and the 95% interval from the log scale (positive); the purchase models' holdout error and
-- which one the predictions use, and why (int_purchase_models_selected); when the fit was made and whether this run
-- made it or reused the last published one (var refit).
{{ config(post_hook="{{ clv_log_model_fit(this) }}") }}

with

fitted as (

    select * from {{ ref('int_clv_models_fitted') }}

),

parameters as (

    select * from {{ ref('int_parameters') }}

),

selection as (

    select * from {{ ref('int_purchase_models_selected') }}

),

estimates as (

    select
        fitted.*,
        sqrt({{ clv_log_covariance('fitted', 'fitted.parameter_index') }}) as log_standard_error,
        count(*) over (partition by fitted.fit, fitted.model) as parameter_count
    from fitted

),

final as (

    select
        estimates.fit,
        estimates.model,
        estimates.parameter,
        cast(estimates.value as {{ clv_type_double() }}) as value,
        cast(estimates.value * estimates.log_standard_error as {{ clv_type_double() }}) as standard_error,
        cast(estimates.value * exp(-1.959963984540054 * estimates.log_standard_error) as {{ clv_type_double() }})
            as lower_95,
        cast(estimates.value * exp(1.959963984540054 * estimates.log_standard_error) as {{ clv_type_double() }})
            as upper_95,
        cast(estimates.log_likelihood as {{ clv_type_double() }}) as log_likelihood,
        cast(2 * estimates.parameter_count - 2 * estimates.log_likelihood as {{ clv_type_double() }}) as aic,
        cast(
            estimates.parameter_count * ln(estimates.customers_used) - 2 * estimates.log_likelihood
            as {{ clv_type_double() }}
        ) as bic,
        cast(estimates.customers_used as {{ dbt.type_bigint() }}) as customers_used,
        estimates.is_converged,
        estimates.convergence_message,
        cast(estimates.cutoff_date as date) as cutoff_date,
        cast(selection.holdout_relative_error as {{ clv_type_double() }}) as holdout_relative_error,
        coalesce(selection.is_selected, false) as is_selected,
        selection.selection_reason,
        parameters.as_of_date,
        parameters.time_unit,
        estimates.fitted_as_of,
        cast({{ clv_days_between('estimates.fitted_as_of', 'parameters.as_of_date') }} as {{ dbt.type_bigint() }})
            as fit_age_days,
        estimates.is_refit,
        estimates.refit_reason,
        estimates.fit_settings
    from estimates
    cross join parameters
    left join selection
        on estimates.model = selection.model

)

select * from final
