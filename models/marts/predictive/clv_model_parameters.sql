-- Grain: fit x model x parameter. The fitted BG/NBD (r, alpha, a, b) and Gamma-Gamma (p, q, gamma) parameters,
-- with log-likelihood, customers used and convergence, for the full fit (as_of) and the backtest calibration fit.
{{ config(post_hook="{{ clv_log_model_fit(this) }}") }}

with

fitted as (

    select * from {{ ref('int_clv_models_fitted') }}

),

parameters as (

    select * from {{ ref('int_parameters') }}

),

final as (

    select
        fitted.fit,
        fitted.model,
        fitted.parameter,
        cast(fitted.value as {{ clv_type_double() }}) as value,
        cast(fitted.log_likelihood as {{ clv_type_double() }}) as log_likelihood,
        cast(fitted.customers_used as {{ dbt.type_bigint() }}) as customers_used,
        fitted.is_converged,
        fitted.convergence_message,
        cast(fitted.cutoff_date as date) as cutoff_date,
        parameters.as_of_date,
        parameters.time_unit
    from fitted
    cross join parameters

)

select * from final
