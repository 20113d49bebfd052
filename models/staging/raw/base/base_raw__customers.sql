-- Every raw customers row, typed, with its quarantine reason (docs/definitions.md, "Bad input").
-- Cross-table checks: none.
{%- if clv_uses_demo_seeds() %}
-- depends_on: {{ ref('customers') }} (the demo seed, loaded by the same dbt build)
{%- endif %}
{% set custom_columns = clv_custom_segment_columns() -%}
{% set raw_columns = ['customer_id', 'created_at', 'email', 'country', 'acquisition_channel'] + custom_columns -%}

with

source as (

    {{ raw_source_select(source('raw', 'customers'), 'customers', raw_columns, required_columns=['customer_id'] + custom_columns) }}

),

rows_described as (

    select
        *,
        {{ clv_raw_row(raw_columns) }} as raw_row,
        {{ clv_raw_key(['customer_id']) }} as raw_key
    from source

),

rows_checked as (

    select
        *,
        {{ clv_row_checks(['customer_id']) }},
        -- personal data stays out of the published content: each distinct email of a key is numbered instead
        dense_rank() over (partition by customer_id order by email) as email_variant
    from rows_described

),

rows_redacted as (

    select
        *,
        {{ clv_raw_row(raw_columns, redacted=clv_personal_columns('customers')) }} as published_raw_row
    from rows_checked

),

typed as (

    select
        customer_id,
        {{ clv_try_timestamp('created_at') }} as created_at,
        created_at is not null as has_created_at,
        lower(email) as email,
        upper(country) as country,
        lower(acquisition_channel) as acquisition_channel,
        {%- for column in custom_columns %}
            {{ column }},
        {%- endfor %}
        raw_key,
        published_raw_row,
        malformed_line,
        copy_number,
        has_conflicting_key
    from rows_redacted

),

reasoned as (

    select
        customer_id,
        created_at,
        email,
        country,
        acquisition_channel,
        {%- for column in custom_columns %}
            {{ column }},
        {%- endfor %}
        raw_key,
        published_raw_row,
        copy_number,
        case
            when malformed_line is not null then 'malformed_row'
            when copy_number > 1 then 'duplicate_row'
            when has_conflicting_key then 'conflicting_customer_id'
            when customer_id is null then 'null_customer_id'
            when has_created_at and created_at is null then 'unparseable_timestamp'
            when cast(created_at as date) > {{ clv_future_cutoff() }} then 'future_dated'
        end as quarantine_reason
    from typed

),

final as (

    select
        customer_id,
        created_at,
        email,
        country,
        acquisition_channel,
        {%- for column in custom_columns %}
            {{ column }},
        {%- endfor %}
        raw_key,
        {{ clv_raw_row_if_quarantined('published_raw_row') }},
        copy_number,
        quarantine_reason
    from reasoned

)

select * from final
