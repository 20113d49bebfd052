-- Every raw customers row, typed, with its quarantine reason (docs/definitions.md, "Bad input").
-- Cross-table checks: none. Personal data: the email of a quarantined row shows as <redacted N>.
{%- if clv_uses_demo_seeds() %}
-- depends_on: {{ ref('customers') }} (the demo seed, loaded by the same dbt build)
{%- endif %}
{% set custom_columns = clv_custom_segment_columns() -%}
{% set raw_columns = ['customer_id', 'created_at', 'email', 'country', 'acquisition_channel'] + custom_columns -%}

with

source as (

    {{ raw_source_select(clv_raw_relation('customers'), 'customers', raw_columns, required_columns=['customer_id'] + custom_columns) }}

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
        {{ clv_checked_columns() }}
    from (
        {{ clv_checked_rows('source', raw_columns, key=['customer_id'], redacted=clv_personal_columns('customers')) }}
    ) as checked

),

rules as (

    select
        *,
        case
            {{ clv_row_reasons('conflicting_customer_id') }}
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
        {{ clv_quarantine_columns() }}
    from rules

)

select * from final
