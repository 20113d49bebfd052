with

order_items as (

    select * from {{ ref('base_raw__order_items') }}
    where quarantine_reason is null

),

final as (

    select
        order_item_id,
        order_id,
        product_id,
        quantity,
        unit_price
    from order_items

)

select * from final
