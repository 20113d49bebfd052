-- Grain: run_id. The publish log: one row per published run (docs/decisions.md, "Publishing"). This model
-- fixes its columns and types (an enforced contract) and is empty in the work database; the publish step
-- (scripts/publish.py) writes the rows into the published database, the earlier ones carried over.
with

empty_log as (

    select
        cast(null as {{ dbt.type_string() }}) as run_id,
        cast(null as date) as as_of_date,
        cast(null as {{ dbt.type_timestamp() }}) as started_at,
        cast(null as {{ dbt.type_timestamp() }}) as published_at,
        cast(null as {{ dbt.type_string() }}) as dbt_version,
        cast(null as {{ dbt.type_string() }}) as project_version,
        cast(null as {{ dbt.type_string() }}) as vars,
        cast(null as {{ dbt.type_string() }}) as parameters,
        cast(null as {{ dbt.type_string() }}) as row_counts,
        cast(null as {{ dbt.type_bigint() }}) as tests_passed
    {{ clv_empty_from() }}

),

final as (

    select * from empty_log
    where 1 = 0

)

select * from final
