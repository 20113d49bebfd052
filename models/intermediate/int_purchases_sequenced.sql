-- Purchases on or before as_of (docs/definitions.md, "Order economics") with their COGS and gross profit,
-- numbered per customer and placed in the windows.
-- Incremental per customer (macros/customer_incremental.sql, docs/decisions.md #44): a run recomputes the
-- customers with an order priced since its last run or an order of theirs recomputed since, all of them when
-- int_parameters' settings changed.
-- depends_on: {{ ref('stg_raw__order_changes') }} (read by the pre-hook)
{{
    config(
        materialized=clv_incremental_materialization(),
        incremental_strategy='append',
        on_schema_change='sync_all_columns',
        pre_hook=[
            "{{ clv_drop_changed_customers() }}",
            "{{ clv_collect_changed_customers(clv_changed_purchasers(ref('int_orders_priced'), ref('stg_raw__order_changes'))) }}",
            "{{ clv_remove_changed_customers(ref('int_parameters')) }}",
        ],
        post_hook="{{ clv_drop_changed_customers() }}"
    )
}}

with

orders_priced as (

    select * from {{ ref('int_orders_priced') }}

),

parameters as (

    select * from {{ ref('int_parameters') }}

),

purchases as (

    select
        orders_priced.order_id,
        orders_priced.customer_id,
        orders_priced.ordered_at,
        orders_priced.order_date,
        orders_priced.net_revenue,
        {{ clv_cogs('orders_priced', 'parameters') }} as cogs,
        orders_priced.net_revenue - {{ clv_cogs('orders_priced', 'parameters') }} as gross_profit,
        orders_priced.is_cogs_estimated,
        orders_priced.order_date > parameters.window_start_date as is_in_window,
        orders_priced.order_date > parameters.prior_window_start_date
        and orders_priced.order_date <= parameters.window_start_date as is_in_prior_window,
        parameters.parameters_signature
    from orders_priced
    cross join parameters
    where
        orders_priced.is_purchase
        and orders_priced.order_date <= parameters.as_of_date
        and {{ clv_is_changed_customer('orders_priced.customer_id') }}

),

final as (

    select
        *,
        row_number() over (partition by customer_id order by ordered_at, order_id) as purchase_number,
        min(order_date) over (partition by customer_id) as first_purchase_date,
        lag(order_date) over (partition by customer_id order by ordered_at, order_id) as previous_purchase_date,
        {{ clv_processed_at() }} as dbt_processed_at
    from purchases

)

select * from final
