with

fx_rates as (

    select * from {{ ref('base_raw__fx_rates') }}
    where quarantine_reason is null

),

final as (

    select
        currency,
        rate_date,
        rate_to_reporting,
        next_rate_date
    from fx_rates

)

select * from final
