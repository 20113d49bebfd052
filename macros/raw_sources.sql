{#
    Where raw data comes from (SPEC section 1):
    - default: the demo seeds, loaded by `dbt build` into the raw schema;
    - raw_data_dir (duckdb target): <table>.csv or <table>.parquet files in a folder, exposed as views
      in the raw_files schema by clv_register_raw_files() (an on-run-start hook);
    - raw_schema / raw_database: an existing warehouse schema.
    Models always read source('raw', ...) through raw_source_select(), which tolerates absent
    optional tables and columns and reads every column as trimmed text (typing is staging's job).
#}

{% macro clv_raw_tables() %}
    {{ return(['orders', 'order_items', 'product_costs', 'refunds', 'customers', 'marketing_spend', 'fx_rates', 'inventory']) }}
{% endmacro %}


{% macro clv_register_raw_files() %}
    {%- set raw_dir = clv_var('raw_data_dir') -%}
    {%- if raw_dir is none or not execute -%}
        {{ return('select 1 as raw_files_registered') }}
    {%- endif -%}
    {%- set dir = raw_dir.rstrip('/') | replace("'", "''") -%}
    {%- set raw_schema = clv_raw_schema() -%}
    {%- do run_query('create schema if not exists ' ~ raw_schema) -%}
    {%- for table in clv_raw_tables() -%}
        {#- One of: <table>.csv, <table>.parquet, or a folder <table>/ of .csv or .parquet files (daily deliveries). -#}
        {%- set found = run_query(
            "select 'file' as layout, file from glob('" ~ dir ~ "/" ~ table ~ ".csv')"
            ~ " union all select 'file', file from glob('" ~ dir ~ "/" ~ table ~ ".parquet')"
            ~ " union all (select 'folder', '" ~ dir ~ "/" ~ table ~ "/*.csv' from glob('" ~ dir ~ "/" ~ table ~ "/*.csv') limit 1)"
            ~ " union all (select 'folder', '" ~ dir ~ "/" ~ table ~ "/*.parquet' from glob('" ~ dir ~ "/" ~ table ~ "/*.parquet') limit 1)"
            ~ " order by 2") -%}
        {%- do run_query('drop view if exists ' ~ raw_schema ~ '.' ~ table) -%}
        {%- if found.rows | length > 1 -%}
            {{ exceptions.raise_compiler_error("raw_data_dir " ~ raw_dir ~ " holds more than one of " ~ table ~ ".csv, " ~ table ~ ".parquet and the folder " ~ table ~ "/: keep one of them.") }}
        {%- elif found.rows | length == 1 -%}
            {%- set path = found.rows[0][1] | replace("'", "''") -%}
            {%- if path.endswith('.csv') -%}
                {%- set reader = "read_csv('" ~ path ~ "', header = true, all_varchar = true, auto_detect = true, union_by_name = true)" -%}
            {%- else -%}
                {%- set reader = "read_parquet('" ~ path ~ "', union_by_name = true)" -%}
            {%- endif -%}
            {%- do run_query('create view ' ~ raw_schema ~ '.' ~ table ~ ' as select * from ' ~ reader) -%}
        {%- elif table == 'orders' -%}
            {{ exceptions.raise_compiler_error("Invalid value for var 'raw_data_dir': " ~ raw_dir ~ " has no orders.csv or orders.parquet. Accepted values: a folder holding at least orders.csv (order_id, customer_id, ordered_at, order_total) or orders.parquet.") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return('select 1 as raw_files_registered') }}
{% endmacro %}


{% macro clv_raw_schema() %}
    {#- The schema the raw source reads; defined once, in _raw__sources.yml. -#}
    {{ return(source('raw', 'orders').schema) }}
{% endmacro %}


{% macro raw_source_select(table_name, columns, required_columns=[]) %}
    {#-
        A select of one raw table with the given columns as trimmed text ('' becomes null), whatever
        their case or type in the raw table. An absent optional table gives an empty result with the
        same columns; an absent optional column gives nulls. The orders table and the
        required_columns must exist, or the build stops with a message naming what is missing.
    -#}
    {%- set relation = source('raw', table_name) -%}
    {%- if clv_uses_demo_seeds() -%}
        {#- Demo mode: make the model run after its seed is loaded (dbt build orders by refs). -#}
        {%- do ref(table_name) -%}
    {%- endif -%}
    {%- set existing = none -%}
    {%- set present = {} -%}
    {%- if execute and relation.schema is none -%}
        {#- A dbt unit test: source() is the test's fixture (a CTE) with every column of the source. -#}
        {%- set existing = relation -%}
        {%- for column in columns -%}{%- do present.update({column: column}) -%}{%- endfor -%}
    {%- elif execute -%}
        {%- set existing = adapter.get_relation(database=relation.database, schema=relation.schema, identifier=relation.identifier) -%}
        {%- if existing is none and table_name == 'orders' -%}
            {{ exceptions.raise_compiler_error("The required raw table 'orders' was not found at " ~ relation ~ ". Set raw_data_dir to a folder holding orders.csv or orders.parquet, or raw_schema/raw_database to the schema holding an orders table.") }}
        {%- endif -%}
        {%- if existing is not none -%}
            {%- for column in adapter.get_columns_in_relation(existing) -%}
                {%- do present.update({column.name | lower: column.name}) -%}
            {%- endfor -%}
            {%- set missing = [] -%}
            {%- for column in required_columns -%}
                {%- if column not in present -%}{%- do missing.append(column) -%}{%- endif -%}
            {%- endfor -%}
            {%- if missing -%}
                {{ exceptions.raise_compiler_error("The raw table " ~ table_name ~ " at " ~ relation ~ " lacks the required column(s) " ~ (missing | join(', ')) ~ "; it has: " ~ (present.keys() | list | join(', ')) ~ ".") }}
            {%- endif -%}
        {%- endif -%}
    {%- endif %}
    select
    {%- for column in columns %}
        {%- if column in present %}
        nullif(trim(cast({{ adapter.quote(present[column]) }} as {{ dbt.type_string() }})), '') as {{ column }}
        {%- else %}
        cast(null as {{ dbt.type_string() }}) as {{ column }}
        {%- endif %}{{ ',' if not loop.last }}
    {%- endfor %}
    {%- if existing is not none %}
    from {{ existing }}
    {%- else %}
    {{ clv_empty_from() }}
    where 1 = 0
    {%- endif %}
{% endmacro %}


{% macro clv_empty_from() %}
    {{ return(adapter.dispatch('clv_empty_from', 'clv')()) }}
{% endmacro %}

{% macro default__clv_empty_from() %}{% endmacro %}
