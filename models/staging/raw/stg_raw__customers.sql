with

customers as (

    select * from {{ ref('base_raw__customers') }}
    where quarantine_reason is null

),

final as (

    select
        customer_id,
        created_at,
        email,
        coalesce(country, 'unknown') as country,
        {%- for column in clv_custom_segment_columns() %}
            coalesce({{ column }}, 'unknown') as {{ column }},
        {%- endfor %}
        coalesce(acquisition_channel, 'unknown') as acquisition_channel
    from customers

)

select * from final
