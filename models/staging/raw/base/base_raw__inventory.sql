-- Every raw inventory row, typed, with its quarantine reason (docs/definitions.md, "Bad input").
-- Cross-table checks: none.
{%- if clv_uses_demo_seeds() %}
-- depends_on: {{ ref('inventory') }} (the demo seed, loaded by the same dbt build)
{%- endif %}
{% set raw_columns = ['period_start', 'period_end', 'beginning_inventory', 'purchases', 'ending_inventory'] -%}

with

source as (

    {{ raw_source_select(clv_raw_relation('inventory'), 'inventory', raw_columns, required_columns=raw_columns) }}

),

typed as (

    select
        {{ clv_try_date('period_start') }} as period_start,
        {{ clv_try_date('period_end') }} as period_end,
        {{ clv_try_number('beginning_inventory') }} as beginning_inventory,
        {{ clv_try_number('purchases') }} as purchases,
        {{ clv_try_number('ending_inventory') }} as ending_inventory,
        {{ clv_checked_columns() }}
    from ({{ clv_checked_rows('source', raw_columns, key=['period_start']) }}) as checked

),

rules as (

    select
        *,
        case
            {{ clv_row_reasons('conflicting_period_start') }}
            when period_start is null or period_end is null then 'unparseable_timestamp'
            when beginning_inventory is null or purchases is null or ending_inventory is null then 'unparseable_number'
            when {{ clv_is_implausible(['beginning_inventory', 'purchases', 'ending_inventory']) }} then 'implausible_amount'
            when beginning_inventory < 0 or purchases < 0 or ending_inventory < 0 then 'negative_amount'
            when period_end < period_start then 'invalid_period'
            when period_start > {{ clv_future_cutoff() }} then 'future_dated'
        end as quarantine_reason
    from typed

),

final as (

    select
        period_start,
        period_end,
        beginning_inventory,
        purchases,
        ending_inventory,
        {{ clv_quarantine_columns() }}
    from rules

)

select * from final
