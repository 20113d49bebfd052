with

refunds as (

    select * from {{ ref('base_raw__refunds') }}
    where quarantine_reason is null

),

final as (

    select
        refund_id,
        order_id,
        refunded_at,
        amount
    from refunds

)

select * from final
