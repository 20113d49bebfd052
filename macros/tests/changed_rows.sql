{#
    Tests on what changed (docs/decisions.md, "Tests on what changed").

    dbt wraps the model of every generic data test in get_where_subquery (its `where` config). This
    project's version adds one filter: a row-level test (clv_row_level_tests) of an incremental table
    reads only the rows written since the last successful publish, the rows whose dbt_processed_at is
    newer than the mark the publish step (scripts/publish.py) left in the work database's
    clv_tested_through. The rows of a failed run are newer than the mark, so they are tested again; a
    full refresh rewrites every row, so all are tested. A unique key of an incremental table, or of a
    staging view that filters one (stg_raw__orders over base_raw__orders), is tested on the keys of the
    rows written since the mark, against the whole table (default__test_unique below): exact, since the
    rows up to the mark were unique when the publish tested them, so a duplicate now has a newer row.
    unique_combination_of_columns, the reconciliation and every test of other models read everything,
    and so does every test when no mark exists (the first build, a plain `dbt build` without the
    publish step, a host project: these macros are the root project's only).
#}

{% macro get_where_subquery(relation) -%}
    {%- set filters = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}{%- do filters.append(where) -%}{%- endif -%}
    {%- set changed = clv_changed_rows_filter(relation) -%}
    {%- if changed -%}{%- do filters.append(changed) -%}{%- endif -%}
    {%- if not filters -%}{{ return(relation) }}{%- endif -%}
    {%- set filtered -%}
        (select * from {{ relation }} where ({{ filters | join(') and (') }})) dbt_subquery
    {%- endset -%}
    {{ return(filtered) }}
{%- endmacro %}


{% macro clv_row_level_tests() %}
    {#- Generic tests that judge each row on its own: a row that passed once passes again until rewritten. -#}
    {{ return(['not_null', 'accepted_values', 'accepted_range', 'expression_is_true', 'relationships']) }}
{% endmacro %}


{% macro clv_changed_rows_filter(relation) -%}
    {#- The filter of a row-level test of an incremental table to the rows newer than the publish step's mark
        (nulls included: not (x <= mark)), or '' when the test reads the whole table. -#}
    {%- if (model.get('test_metadata') or {}).get('name') not in clv_row_level_tests() -%}{{ return('') }}{%- endif -%}
    {%- set attached = clv_tested_node() -%}
    {%- if attached is none or attached.config.materialized != 'incremental' -%}{{ return('') }}{%- endif -%}
    {{ return(clv_newer_than_mark(relation)) }}
{%- endmacro %}


{% macro clv_tested_node() -%}
    {#- The graph node of the model the current generic data test is attached to, or none (not a test, not
        executing, or a test of no single model). -#}
    {%- if not execute or model.resource_type != 'test' or not model.get('attached_node') -%}{{ return(none) }}{%- endif -%}
    {{ return(graph.nodes.get(model.attached_node)) }}
{%- endmacro %}


{% macro clv_newer_than_mark(relation) -%}
    {#- `not (dbt_processed_at <= <the mark of relation>)`, or '' when the work database has no mark table. -#}
    {%- set mark = adapter.get_relation(database=relation.database, schema=relation.schema, identifier='clv_tested_through') -%}
    {%- if mark is none -%}{{ return('') }}{%- endif -%}
    {%- set tested_through -%}
        coalesce(
            (select max(tested_through) from {{ mark }} where table_name = '{{ relation.identifier }}'),
            cast('1900-01-01' as {{ dbt.type_timestamp() }})
        )
    {%- endset -%}
    {{ return('not (dbt_processed_at <= ' ~ tested_through ~ ')') }}
{%- endmacro %}


{% macro clv_changed_keys(column_name) -%}
    {#- For the unique test of the current test node: a select of the column's values on the rows written
        since the mark, or '' to test the whole table. The rows are the tested model's when it is an
        incremental table; for a view whose only model parent is an incremental table with the same
        column (a staging view filtering the base table's rows), the parent's. -#}
    {%- set attached = clv_tested_node() -%}
    {%- if attached is none -%}{{ return('') }}{%- endif -%}
    {%- set written = attached -%}
    {%- if attached.config.materialized == 'view' -%}
        {%- set parents = [] -%}
        {%- for unique_id in attached.depends_on.nodes if unique_id.startswith('model.') and unique_id in graph.nodes -%}
            {%- do parents.append(graph.nodes[unique_id]) -%}
        {%- endfor -%}
        {%- if parents | length != 1 or column_name not in parents[0].columns -%}{{ return('') }}{%- endif -%}
        {%- set written = parents[0] -%}
    {%- endif -%}
    {%- if written.config.materialized != 'incremental' -%}{{ return('') }}{%- endif -%}
    {%- set relation = api.Relation.create(database=written.database, schema=written.schema, identifier=written.alias) -%}
    {%- set newer = clv_newer_than_mark(relation) -%}
    {%- if not newer -%}{{ return('') }}{%- endif -%}
    {{ return('select ' ~ column_name ~ ' from ' ~ relation ~ ' where ' ~ newer) }}
{%- endmacro %}


{% macro default__test_unique(model, column_name) -%}
    {#- dbt's unique test (the same failing rows), over the keys written since the mark when there is one
        (clv_changed_keys). -#}
    {%- set changed = clv_changed_keys(column_name) %}
select
    {{ column_name }} as unique_field,
    count(*) as n_records
from {{ model }}
where
    {{ column_name }} is not null
    {%- if changed %}
    and {{ column_name }} in ({{ changed }})
    {%- endif %}
group by {{ column_name }}
having count(*) > 1
{%- endmacro %}
