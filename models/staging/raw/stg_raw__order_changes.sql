-- Grain: one row per raw row of orders, order_items and refunds (quarantined ones included): the order it
-- belongs to and when dbt last recomputed it. int_orders_priced's incremental runs price again the orders
-- with a row recomputed since their last run; its pre-hook first removes them (docs/decisions.md,
-- "Incremental runs").
with

orders as (

    select * from {{ ref('base_raw__orders') }}

),

order_items as (

    select * from {{ ref('base_raw__order_items') }}

),

refunds as (

    select * from {{ ref('base_raw__refunds') }}

),

final as (

    select
        'orders' as source_table,
        raw_key as order_id,
        dbt_processed_at
    from orders
    union all
    select
        'order_items' as source_table,
        order_key as order_id,
        dbt_processed_at
    from order_items
    union all
    select
        'refunds' as source_table,
        order_id,
        dbt_processed_at
    from refunds

)

select * from final
