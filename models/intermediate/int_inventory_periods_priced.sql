-- Per inventory period (docs/definitions.md, "Gross margin by period"): revenue and COGS of its purchases,
-- and COGS by the inventory method.
with

inventory as (

    select * from {{ ref('stg_raw__inventory') }}

),

purchases as (

    select * from {{ ref('int_purchases_sequenced') }}

),

period_purchases as (

    select
        inventory.period_start,
        sum(purchases.net_revenue) as revenue,
        sum(purchases.cogs) as cogs_items,
        count(purchases.order_id) as purchases
    from inventory
    left join purchases
        on
            inventory.period_start <= purchases.order_date
            and inventory.period_end >= purchases.order_date
    group by inventory.period_start

),

final as (

    select
        inventory.period_start,
        inventory.period_end,
        coalesce(period_purchases.purchases, 0) as purchases,
        coalesce(period_purchases.revenue, 0) as revenue,
        coalesce(period_purchases.cogs_items, 0) as cogs_items,
        inventory.beginning_inventory,
        inventory.purchases as inventory_purchases,
        inventory.ending_inventory,
        inventory.cogs_inventory,
        (period_purchases.revenue - period_purchases.cogs_items) / nullif(period_purchases.revenue, 0) as gross_margin_items,
        (period_purchases.revenue - inventory.cogs_inventory) / nullif(period_purchases.revenue, 0) as gross_margin_inventory
    from inventory
    left join period_purchases
        on inventory.period_start = period_purchases.period_start

)

select * from final
