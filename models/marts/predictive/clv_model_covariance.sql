-- Grain: fit x model x parameter x other_parameter. The covariance of the fitted parameters (docs/definitions.md,
-- "Predictive CLV"): the inverse observed information of the log-parameters (int_clv_models_fitted), carried to
-- the parameters by the delta method, cov(theta_i, theta_j) = theta_i theta_j cov(ln theta_i, ln theta_j).
with

fitted as (

    select * from {{ ref('int_clv_models_fitted') }}

),

pairs as (

    select
        fitted.fit,
        fitted.model,
        fitted.parameter,
        others.parameter as other_parameter,
        fitted.value,
        others.value as other_value,
        {{ clv_log_covariance('fitted', 'others.parameter_index') }} as log_covariance,
        {{ clv_log_covariance('fitted', 'fitted.parameter_index') }} as log_variance,
        {{ clv_log_covariance('others', 'others.parameter_index') }} as other_log_variance
    from fitted
    inner join fitted as others
        on
            fitted.fit = others.fit
            and fitted.model = others.model

),

final as (

    select
        fit,
        model,
        parameter,
        other_parameter,
        cast(value * other_value * log_covariance as {{ clv_type_double() }}) as covariance,
        cast(log_covariance / sqrt(log_variance * other_log_variance) as {{ clv_type_double() }}) as correlation,
        cast(log_covariance as {{ clv_type_double() }}) as log_scale_covariance
    from pairs

)

select * from final
