with

marketing_spend as (

    select * from {{ ref('base_raw__marketing_spend') }}
    where quarantine_reason is null

),

final as (

    select
        spend_id,
        spend_date,
        channel,
        currency,
        amount,
        fx_rate,
        amount * fx_rate as amount_reporting
    from marketing_spend

)

select * from final
