-- Grain: frequency x recency_step. The BG/NBD histories of the frequency/recency matrix (lifetimes'
-- P(alive) and frequency/recency plots), for the full fit: repeat occasions 0 .. the largest observed
-- (at most diagnostic_max_frequency) by recency (age at the last purchase) in 20 equal steps from 0 to
-- the oldest customer's age, which every cell takes as its age. int_bgnbd_histories_predicted predicts
-- them with the customers' histories; clv_frequency_recency publishes them.
{%- set recency_steps = 20 %}
with

inputs as (

    select * from {{ ref('int_customers_bgnbd_inputs') }}
    where fit = 'full'

),

extent as (

    select
        max(customer_age) as customer_age,
        max({{ clv_diagnostic_frequency('frequency') }}) as max_frequency
    from inputs

),

steps as (

    {{ clv_integer_series(clv_var('diagnostic_max_frequency') + recency_steps + 1) }}

),

final as (

    -- a customer without a repeat purchase has recency 0: frequency 0 has the first step only
    select
        'full' as fit,
        cast(frequencies.n as {{ dbt.type_bigint() }}) as frequency,
        cast(recency_steps.n as {{ dbt.type_bigint() }}) as recency_step,
        extent.customer_age * recency_steps.n / {{ recency_steps }} as recency,
        extent.customer_age
    from extent
    cross join steps as frequencies
    cross join steps as recency_steps
    where
        extent.customer_age is not null
        and frequencies.n <= extent.max_frequency
        and recency_steps.n <= {{ recency_steps }}
        and (frequencies.n > 0 or recency_steps.n = 0)

)

select * from final
