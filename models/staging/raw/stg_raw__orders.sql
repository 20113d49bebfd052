with

orders as (

    select * from {{ ref('base_raw__orders') }}
    where quarantine_reason is null

),

final as (

    select
        order_id,
        customer_id,
        ordered_at,
        order_date,
        status,
        currency,
        order_total,
        fx_rate,
        order_total * fx_rate as order_total_reporting
    from orders

)

select * from final
