-- Grain: one row per quarantined raw row (quarantine_id). Which raw table it came from, why, its key and its content.
{%- set tables = clv_raw_tables() %}

with

{% for table in tables %}
    {{ table }}_quarantined as (

        select
            '{{ table }}' as source_table,
            quarantine_reason,
            raw_key,
            raw_row,
            copy_number
        from {{ ref('base_raw__' ~ table) }}
        where quarantine_reason is not null

    ),

{% endfor %}
quarantined as (

    {%- for table in tables %}
        select * from {{ table }}_quarantined
        {{ 'union all' if not loop.last }}
    {%- endfor %}

),

final as (

    select
        {{ dbt.hash(dbt.concat(['source_table', "'|'", 'raw_row', "'|'", dbt.cast('copy_number', dbt.type_string())])) }} as quarantine_id,
        source_table,
        quarantine_reason,
        raw_key,
        raw_row,
        cast(copy_number as {{ dbt.type_bigint() }}) as copy_number
    from quarantined

)

select * from final
