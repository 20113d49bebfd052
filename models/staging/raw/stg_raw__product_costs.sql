with

product_costs as (

    select * from {{ ref('base_raw__product_costs') }}
    where quarantine_reason is null

),

final as (

    select
        product_id,
        valid_from,
        coalesce(
            lead(valid_from) over (partition by product_id order by valid_from),
            {{ clv_date_literal('9999-12-31') }}
        ) as valid_to,
        unit_cost
    from product_costs

)

select * from final
