-- Grain: period_start (one inventory period). Gross margin by the items method and by the inventory method, side by side.
with

periods as (

    select * from {{ ref('int_inventory_periods_priced') }}

),

final as (

    select
        period_start,
        period_end,
        cast(purchases as {{ dbt.type_bigint() }}) as purchases,
        revenue,
        cogs_items,
        beginning_inventory,
        inventory_purchases,
        ending_inventory,
        cogs_inventory,
        gross_margin_items,
        gross_margin_inventory
    from periods

)

select * from final
