-- Grain: as_of_date x customer_id. Each customer's value tier, RFM segment and P(alive) at this run's as-of,
-- when it ends a period of history_snapshot_period (a month end by default; other runs add no row), for tier
-- migration. The publish step keeps the earlier snapshots beside them (docs/decisions.md, "History").
{{ config(meta={'history_key': 'as_of_date'}) }}

with

customers as (

    select * from {{ ref('customer_clv') }}

),

parameters as (

    select * from {{ ref('int_parameters') }}

),

final as (

    select
        customers.as_of_date,
        customers.customer_id,
        customers.acquisition_channel,
        customers.purchases,
        customers.revenue,
        customers.recency_days,
        customers.rfm_segment,
        customers.value_tier,
        customers.is_overdue,
        customers.p_alive,
        customers.predicted_clv,
        {{ clv_run_id() }} as run_id
    from customers
    cross join parameters
    where parameters.is_history_snapshot

)

select * from final
