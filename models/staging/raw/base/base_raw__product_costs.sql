-- Every raw product_costs row, typed, with its quarantine reason (docs/definitions.md, "Bad input").
-- Cross-table checks: none.
{%- if clv_uses_demo_seeds() %}
-- depends_on: {{ ref('product_costs') }} (the demo seed, loaded by the same dbt build)
{%- endif %}
{% set raw_columns = ['product_id', 'valid_from', 'unit_cost'] -%}

with

source as (

    {{ raw_source_select(clv_raw_relation('product_costs'), 'product_costs', raw_columns, required_columns=raw_columns) }}

),

typed as (

    select
        product_id,
        {{ clv_try_date('valid_from') }} as valid_from,
        {{ clv_try_number('unit_cost') }} as unit_cost,
        {{ clv_checked_columns() }}
    from ({{ clv_checked_rows('source', raw_columns, key=['product_id', 'valid_from']) }}) as checked

),

rules as (

    select
        *,
        case
            {{ clv_row_reasons('conflicting_cost') }}
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
        {{ clv_quarantine_columns() }}
    from rules

)

select * from final
