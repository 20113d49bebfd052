-- Every raw product_costs row, typed, with its quarantine reason (docs/definitions.md, "Bad input").
-- Cross-table checks: none.
{%- if clv_uses_demo_seeds() %}
-- depends_on: {{ ref('product_costs') }} (the demo seed, loaded by the same dbt build)
{%- endif %}
{% set raw_columns = ['product_id', 'valid_from', 'unit_cost'] -%}

with

source as (

    {{ raw_source_select(source('raw', 'product_costs'), 'product_costs', raw_columns, required_columns=raw_columns) }}

),

rows_described as (

    select
        *,
        {{ clv_raw_row(raw_columns) }} as raw_row,
        {{ clv_raw_key(['product_id', 'valid_from']) }} as raw_key
    from source

),

rows_checked as (

    select
        *,
        {{ clv_row_checks(['product_id', 'valid_from']) }}
    from rows_described

),

typed as (

    select
        product_id,
        {{ clv_try_date('valid_from') }} as valid_from,
        {{ clv_try_number('unit_cost') }} as unit_cost,
        raw_key,
        raw_row,
        malformed_line,
        copy_number,
        has_conflicting_key
    from rows_checked

),

reasoned as (

    select
        product_id,
        valid_from,
        unit_cost,
        raw_key,
        raw_row,
        copy_number,
        case
            when malformed_line is not null then 'malformed_row'
            when copy_number > 1 then 'duplicate_row'
            when has_conflicting_key then 'conflicting_cost'
            when product_id is null then 'null_product_id'
            when valid_from is null then 'unparseable_timestamp'
            when unit_cost is null then 'unparseable_number'
            when {{ clv_is_implausible(['unit_cost']) }} then 'implausible_amount'
            when unit_cost < 0 then 'negative_amount'
        end as quarantine_reason
    from typed

),

final as (

    select
        product_id,
        valid_from,
        unit_cost,
        raw_key,
        {{ clv_raw_row_if_quarantined() }},
        copy_number,
        quarantine_reason
    from reasoned

)

select * from final
