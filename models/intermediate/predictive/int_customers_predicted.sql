-- Grain: fit x customer_id. The selected purchase model's predictions of the customer's history
-- (int_bgnbd_histories_predicted, int_purchase_models_selected),
-- the Gamma-Gamma expected spend per purchase, and the predicted CLV: the monthly-discounted expected
-- purchases over the horizon x expected spend x the customer's gross margin (default_gross_margin if
-- unknown); with 90% intervals from the fits' parameter uncertainty (delta method on the log scale:
-- docs/definitions.md, "Predictive CLV"). Null where a fit did not converge.
with

inputs as (

    select * from {{ ref('int_customers_bgnbd_inputs') }}

),

selected as (

    select * from {{ ref('int_purchase_models_selected') }}
    where is_selected

),

all_histories as (

    select * from {{ ref('int_bgnbd_histories_predicted') }}

),

histories as (

    -- the selected purchase model's predictions
    select all_histories.*
    from all_histories
    inner join selected
        on all_histories.model = selected.model

),

parameters as (

    select * from {{ ref('int_parameters') }}

),

fitted as (

    select * from {{ ref('int_clv_models_fitted') }}

),

gamma_gamma as (

    select
        fit,
        max(case when parameter = 'p' then value end) as p,
        max(case when parameter = 'q' then value end) as q,
        max(case when parameter = 'gamma' then value end) as gamma
    from fitted
    where model = 'gamma_gamma' and is_converged
    group by fit

),

covariances as (

    {{ clv_log_covariance_matrices('fitted', 'selected') }}

),

weighted as (

    -- E[spend per purchase | x, m] is a weighted mean of the population mean and the customer's mean
    select
        inputs.fit,
        inputs.customer_id,
        inputs.frequency,
        inputs.recency,
        inputs.customer_age,
        coalesce(inputs.monetary_value, 0) as monetary_value,
        coalesce(inputs.gross_margin, parameters.default_gross_margin) as gross_margin,
        gamma_gamma.q,
        gamma_gamma.gamma * gamma_gamma.p / (gamma_gamma.q - 1) as population_spend,
        gamma_gamma.p * inputs.frequency / (gamma_gamma.p * inputs.frequency + gamma_gamma.q - 1) as customer_weight
    from inputs
    cross join parameters
    left join gamma_gamma
        on inputs.fit = gamma_gamma.fit

),

spend as (

    select
        *,
        (1 - customer_weight) * population_spend + customer_weight * monetary_value as expected_spend_per_purchase,
        -- d spend / d ln p; d spend / d ln q is -q / (q - 1) times it, d spend / d ln gamma the population part
        (1 - customer_weight) * population_spend
        + customer_weight * (1 - customer_weight) * (monetary_value - population_spend) as spend_slope_p
    from weighted

),

elasticities as (

    -- d ln(spend) / d ln(p, q, gamma)
    select
        *,
        spend_slope_p / nullif(expected_spend_per_purchase, 0) as spend_elasticity_1,
        -q / (q - 1) * spend_slope_p / nullif(expected_spend_per_purchase, 0) as spend_elasticity_2,
        (1 - customer_weight) * population_spend / nullif(expected_spend_per_purchase, 0) as spend_elasticity_3
    from spend

),

predicted as (

    select
        elasticities.fit,
        elasticities.customer_id,
        histories.p_alive,
        histories.expected_purchases_30d,
        histories.expected_purchases_90d,
        histories.expected_purchases_365d,
        histories.expected_purchases_horizon,
        histories.expected_purchases_holdout,
        elasticities.expected_spend_per_purchase,
        histories.discounted_purchases_horizon * elasticities.expected_spend_per_purchase * elasticities.gross_margin
            as predicted_clv,
        {%- for k in range(1, 5) %}
            histories.discounted_purchases_elasticity_{{ k }} as clv_elasticity_purchase_{{ k }},
        {%- endfor %}
        {%- for k in range(1, 4) %}
            elasticities.spend_elasticity_{{ k }} as clv_elasticity_gg_{{ k }},
        {%- endfor %}
        {{ clv_quadratic_form(
            clv_numbered_columns('histories.expected_purchases_365d_elasticity_', 4),
            'covariances.purchase_covariance'
        ) }} as expected_purchases_365d_log_variance,
        {{ clv_quadratic_form(
            clv_numbered_columns('histories.discounted_purchases_elasticity_', 4),
            'covariances.purchase_covariance'
        ) }}
        + {{ clv_quadratic_form(
            clv_numbered_columns('elasticities.spend_elasticity_', 3),
            'covariances.gamma_gamma_covariance'
        ) }} as predicted_clv_log_variance
    from elasticities
    inner join histories
        on
            elasticities.fit = histories.fit
            and elasticities.frequency = histories.frequency
            and elasticities.recency = histories.recency
            and elasticities.customer_age = histories.customer_age
    left join covariances
        on elasticities.fit = covariances.fit

),

final as (

    select
        fit,
        customer_id,
        p_alive,
        expected_purchases_30d,
        expected_purchases_90d,
        expected_purchases_365d,
        {{ clv_interval_90('expected_purchases_365d', 'expected_purchases_365d_log_variance', 'lower') }}
            as expected_purchases_365d_lower_90,
        {{ clv_interval_90('expected_purchases_365d', 'expected_purchases_365d_log_variance', 'upper') }}
            as expected_purchases_365d_upper_90,
        expected_purchases_horizon,
        expected_purchases_holdout,
        expected_spend_per_purchase,
        predicted_clv,
        {{ clv_interval_90('predicted_clv', 'predicted_clv_log_variance', 'lower') }} as predicted_clv_lower_90,
        {{ clv_interval_90('predicted_clv', 'predicted_clv_log_variance', 'upper') }} as predicted_clv_upper_90,
        -- d predicted_clv / d ln(parameter), which segment intervals sum over their customers
        {%- for k in range(1, 5) %}
            predicted_clv * clv_elasticity_purchase_{{ k }} as predicted_clv_sensitivity_purchase_{{ k }},
        {%- endfor %}
        {%- for k in range(1, 4) %}
            predicted_clv * clv_elasticity_gg_{{ k }} as predicted_clv_sensitivity_gg_{{ k }},
        {%- endfor %}
        predicted_clv_log_variance
    from predicted

)

select * from final
