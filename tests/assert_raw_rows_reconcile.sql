-- Every raw row is accounted for: the reconciliation's raw_rows equal the rows of the raw source itself,
-- and raw rows = clean rows + quarantined rows, for every table of the contract. Raw rows an incremental
-- run did not read (late data) fail it with what to do (and clv_report_late_rows names them in the log).
{%- set tables = clv_raw_tables() %}
{%- if clv_uses_demo_seeds() %}
    {%- for table in tables %}
    -- depends_on: {{ ref(table) }} (a demo seed)
    {%- endfor %}
{%- endif %}

with

reconciliation as (

    select * from {{ ref('data_quality_reconciliation') }}

),

source_counts as (

    {%- for table in tables %}
        select
            '{{ table }}' as source_table,
            count(*) as source_rows
        from ({{ raw_source_select(clv_raw_relation(table), table, ['placeholder_column']) }}) as raw_{{ table }}
        {{ 'union all' if not loop.last }}
    {%- endfor %}

),

mismatches as (

    select
        reconciliation.source_table,
        reconciliation.raw_rows,
        reconciliation.clean_rows,
        reconciliation.quarantined_rows,
        source_counts.source_rows,
        source_counts.source_rows - reconciliation.raw_rows as unread_rows,
        case
            when source_counts.source_rows > reconciliation.raw_rows
                then 'late data, not read by an incremental run: make build DBT_ARGS=--full-refresh reads it'
        end as what_to_do
    from reconciliation
    left join source_counts
        on reconciliation.source_table = source_counts.source_table
    where
        source_counts.source_rows is null
        or reconciliation.raw_rows != source_counts.source_rows
        or reconciliation.raw_rows != reconciliation.clean_rows + reconciliation.quarantined_rows

)

select * from mismatches
