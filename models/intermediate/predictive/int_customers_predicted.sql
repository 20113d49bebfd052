-- Grain: fit x customer_id. The BG/NBD predictions of the customer's history (int_bgnbd_histories_predicted),
-- the Gamma-Gamma expected spend per purchase, and the predicted CLV: the monthly-discounted expected
-- purchases over the horizon x expected spend x the customer's gross margin (default_gross_margin if
-- unknown). Null where a fit did not converge.
with

inputs as (

    select * from {{ ref('int_customers_bgnbd_inputs') }}

),

histories as (

    select * from {{ ref('int_bgnbd_histories_predicted') }}

),

parameters as (

    select * from {{ ref('int_parameters') }}

),

gamma_gamma as (

    select
        fit,
        max(case when parameter = 'p' then value end) as p,
        max(case when parameter = 'q' then value end) as q,
        max(case when parameter = 'gamma' then value end) as gamma
    from {{ ref('int_clv_models_fitted') }}
    where model = 'gamma_gamma' and is_converged
    group by fit

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
        (1 - customer_weight) * population_spend + customer_weight * monetary_value as expected_spend_per_purchase
    from weighted

),

final as (

    select
        spend.fit,
        spend.customer_id,
        histories.p_alive,
        histories.expected_purchases_30d,
        histories.expected_purchases_90d,
        histories.expected_purchases_365d,
        histories.expected_purchases_horizon,
        histories.expected_purchases_holdout,
        spend.expected_spend_per_purchase,
        histories.discounted_purchases_horizon * spend.expected_spend_per_purchase * spend.gross_margin as predicted_clv,
        histories.expected_purchases_holdout * spend.expected_spend_per_purchase as predicted_holdout_revenue
    from spend
    inner join histories
        on
            spend.fit = histories.fit
            and spend.frequency = histories.frequency
            and spend.recency = histories.recency
            and spend.customer_age = histories.customer_age

)

select * from final
