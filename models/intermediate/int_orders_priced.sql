-- Order economics (docs/definitions.md, "Order economics"): net revenue and the cost of the lines at the cost
-- valid on the order date (int_purchases_sequenced applies the default margin where that cost is unknown).
-- Incremental: the orders with an order, line or refund row recomputed since this table's last run
-- (stg_raw__order_changes) are priced again; the pre-hook first removes them, so that an order
-- quarantined since is dropped.
-- depends_on: {{ ref('stg_raw__order_changes') }} (read by incremental runs and the pre-hook)
{{
    config(
        materialized=clv_incremental_materialization(),
        incremental_strategy='delete+insert',
        unique_key='order_id',
        on_schema_change='fail',
        pre_hook="{{ clv_remove_orders_to_reprice(ref('stg_raw__order_changes')) }}"
    )
}}

with

{%- if is_incremental() %}

    orders_to_price as (

        select distinct order_id from {{ ref('stg_raw__order_changes') }}
        where dbt_processed_at > {{ clv_last_processed_at(this) }}

    ),

{%- endif %}

orders as (

    -- the orders to price (on an incremental run, those with a recomputed row); their lines and refunds
    -- are found by joining to them
    select * from {{ ref('stg_raw__orders') }}
    {%- if is_incremental() %}
        where order_id in (select orders_to_price.order_id from orders_to_price)
    {%- endif %}

),

order_items as (

    select * from {{ ref('stg_raw__order_items') }}

),

product_costs as (

    select * from {{ ref('stg_raw__product_costs') }}

),

refunds as (

    select * from {{ ref('stg_raw__refunds') }}

),

items_costed as (

    select
        order_items.order_id,
        order_items.quantity,
        product_costs.unit_cost
    from order_items
    inner join orders
        on order_items.order_id = orders.order_id
    left join product_costs
        on
            order_items.product_id = product_costs.product_id
            and orders.order_date >= product_costs.valid_from
            and orders.order_date < product_costs.valid_to

),

order_costs as (

    select
        order_id,
        count(*) as item_lines,
        -- the cost of the lines when every line has one; null when one lacks it (then it is estimated)
        case when count(unit_cost) = count(*) then sum(quantity * unit_cost) end as items_cogs
    from items_costed
    group by order_id

),

order_refunds as (

    select
        refunds.order_id,
        sum(refunds.amount) as refunded_amount
    from refunds
    inner join orders
        on refunds.order_id = orders.order_id
    group by refunds.order_id

),

priced as (

    select
        orders.order_id,
        orders.customer_id,
        orders.ordered_at,
        orders.order_date,
        orders.status,
        orders.currency,
        orders.fx_rate,
        orders.order_total_reporting as gross_revenue,
        coalesce(order_refunds.refunded_amount, 0) * orders.fx_rate as refunds,
        orders.order_total_reporting - coalesce(order_refunds.refunded_amount, 0) * orders.fx_rate as net_revenue,
        coalesce(order_costs.item_lines, 0) as item_lines,
        -- no line, or a line without a cost: int_purchases_sequenced applies default_gross_margin, so that
        -- a change of that var needs no full refresh of this table
        order_costs.items_cogs is null as is_cogs_estimated,
        order_costs.items_cogs
    from orders
    left join order_costs
        on orders.order_id = order_costs.order_id
    left join order_refunds
        on orders.order_id = order_refunds.order_id

),

final as (

    select
        *,
        status != 'cancelled' and net_revenue > 0 as is_purchase,
        {{ clv_processed_at() }} as dbt_processed_at
    from priced

)

select * from final
