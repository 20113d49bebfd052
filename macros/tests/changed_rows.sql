{#
    Tests on what changed (docs/decisions.md, "Tests on what changed").

    dbt wraps the model of every generic data test in get_where_subquery (its `where` config). This
    project's version adds one filter: a row-level test (clv_row_level_tests) of an incremental table
    reads only the rows written since the last successful publish, the rows whose dbt_processed_at is
    newer than the mark the publish step (scripts/publish.py) left in the work database's
    clv_tested_through. The rows of a failed run are newer than the mark, so they are tested again; a
    full refresh rewrites every row, so all are tested. Tests over a whole table (unique keys,
    unique_combination_of_columns, the reconciliation) and every test of other models read everything,
    and so does every test when no mark exists (the first build, a plain `dbt build` without the
    publish step, a host project: this macro is the root project's only).
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
    {%- if not execute or model.resource_type != 'test' or not model.get('attached_node') -%}{{ return('') }}{%- endif -%}
    {%- if (model.get('test_metadata') or {}).get('name') not in clv_row_level_tests() -%}{{ return('') }}{%- endif -%}
    {%- set attached = graph.nodes.get(model.attached_node) -%}
    {%- if attached is none or attached.config.materialized != 'incremental' -%}{{ return('') }}{%- endif -%}
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
