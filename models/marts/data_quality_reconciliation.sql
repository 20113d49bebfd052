-- Grain: source_table (one row per raw table of the contract). Raw rows = clean rows + quarantined rows.
{%- set tables = clv_raw_tables() %}

with

quarantine as (

    select * from {{ ref('data_quality_quarantine') }}

),

counts as (

    {%- for table in tables %}
        select
            '{{ table }}' as source_table,
            (select count(*) from {{ ref('base_raw__' ~ table) }}) as raw_rows,
            (select count(*) from {{ ref('stg_raw__' ~ table) }}) as clean_rows,
            (
                select count(*) from quarantine
                where source_table = '{{ table }}'
            ) as quarantined_rows
        {{ 'union all' if not loop.last }}
    {%- endfor %}

),

final as (

    select
        source_table,
        cast(raw_rows as {{ dbt.type_bigint() }}) as raw_rows,
        cast(clean_rows as {{ dbt.type_bigint() }}) as clean_rows,
        cast(quarantined_rows as {{ dbt.type_bigint() }}) as quarantined_rows,
        raw_rows = clean_rows + quarantined_rows as is_reconciled
    from counts

)

select * from final
