with

inventory as (

    select * from {{ ref('base_raw__inventory') }}
    where quarantine_reason is null

),

final as (

    select
        period_start,
        period_end,
        beginning_inventory,
        purchases,
        ending_inventory,
        beginning_inventory + purchases - ending_inventory as cogs_inventory
    from inventory

)

select * from final
