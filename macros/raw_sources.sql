{#
    Where raw data comes from (docs/definitions.md, "Raw inputs"):
    - default: the demo seeds, loaded by `dbt build` into the raw schema;
    - raw_data_dir (duckdb target): <table>.csv or <table>.parquet files in a folder, exposed as views
      in the raw_files schema by clv_register_raw_files() (an on-run-start hook);
    - raw_schema / raw_database: an existing warehouse schema.
    - raw_models (a host project): per table, a dbt model or seed of the project (clv_raw_relation).
    Models always read clv_raw_relation(...) through raw_source_select(), which tolerates absent
    optional tables and columns and reads every column as trimmed text (typing is staging's job).
#}

{% macro clv_raw_tables() %}
    {{ return(['orders', 'order_items', 'product_costs', 'refunds', 'customers', 'marketing_spend', 'fx_rates', 'inventory']) }}
{% endmacro %}


{% macro clv_register_raw_files() %}
    {#-
        raw_data_dir mode (an on-run-start hook): each table is one of <name>.csv, <name>.parquet, or a
        folder <name>/ of .csv or .parquet files (daily deliveries, read together by column name), where
        <name> is the raw source's identifier for the table: its name in the contract, or its entry in the
        var raw_identifiers (_raw__sources.yml).
        - Parquet files are exposed as a view.
        - CSV files are loaded into a table, file by file, with DuckDB's rejects store: a line the
          parser cannot split into the header's columns (a field too many or too few, an unclosed
          quote) is not dropped but kept in <table>__malformed with its file and line number, and the
          base model quarantines it as malformed_row. Quoting is RFC 4180 ("), the separator is detected.
        - A file that is not in raw_file_encoding (bytes that do not decode) stops the run with the file,
          the line and the var to set; a file of zero bytes is skipped (and an orders folder holding
          nothing else stops the run).
    -#}
    {%- set raw_dir = clv_var('raw_data_dir') -%}
    {%- if raw_dir is none or not execute -%}
        {{ return('select 1 as raw_files_registered') }}
    {%- endif -%}
    {%- set dir = raw_dir.rstrip('/') | replace("'", "''") -%}
    {%- set raw_schema = clv_raw_schema() -%}
    {%- do run_query('create schema if not exists ' ~ raw_schema) -%}
    {%- set loaded = [] -%}
    {%- for contract_table in clv_raw_tables() -%}
        {%- set table = source('raw', contract_table).identifier -%}
        {%- set target = raw_schema ~ '.' ~ table -%}
        {%- set malformed = raw_schema ~ '.' ~ table ~ '__malformed' -%}
        {%- set previous = run_query("select table_type from information_schema.tables where table_schema = '" ~ raw_schema ~ "' and table_name = '" ~ table ~ "'") -%}
        {%- if previous.rows -%}
            {%- do run_query(('drop view ' if previous.rows[0][0] == 'VIEW' else 'drop table ') ~ target) -%}
        {%- endif -%}
        {%- do run_query('create or replace table ' ~ malformed ~ ' (file_name varchar, line_number bigint, line_text varchar)') -%}
        {%- set found = run_query(
            "select 'file' as layout, file from glob('" ~ dir ~ "/" ~ table ~ ".csv')"
            ~ " union all select 'file', file from glob('" ~ dir ~ "/" ~ table ~ ".parquet')"
            ~ " union all (select 'folder', '" ~ dir ~ "/" ~ table ~ "/*.csv' from glob('" ~ dir ~ "/" ~ table ~ "/*.csv') limit 1)"
            ~ " union all (select 'folder', '" ~ dir ~ "/" ~ table ~ "/*.parquet' from glob('" ~ dir ~ "/" ~ table ~ "/*.parquet') limit 1)"
            ~ " order by 2") -%}
        {%- if found.rows | length > 1 -%}
            {{ exceptions.raise_compiler_error("raw_data_dir " ~ raw_dir ~ " holds more than one of " ~ table ~ ".csv, " ~ table ~ ".parquet and the folder " ~ table ~ "/: keep one of them.") }}
        {%- elif found.rows | length == 1 and found.rows[0][1].endswith('.parquet') -%}
            {%- set path = found.rows[0][1] | replace("'", "''") -%}
            {%- do run_query("create view " ~ target ~ " as select * from read_parquet('" ~ path ~ "', union_by_name = true)") -%}
            {%- do loaded.append(table) -%}
        {%- elif found.rows | length == 1 and _clv_load_csv_files(contract_table, found.rows[0][1], target, malformed) | int > 0 -%}
            {%- do loaded.append(table) -%}
        {%- endif -%}
        {%- if contract_table == 'orders' and table not in loaded -%}
            {{ exceptions.raise_compiler_error("Invalid value for var 'raw_data_dir': " ~ raw_dir ~ " has no orders file with content (" ~ table ~ ".csv, " ~ table ~ ".parquet, or a folder " ~ table ~ "/ of such files; a file of zero bytes does not count). Accepted values: a folder holding at least " ~ table ~ ".csv with the columns order_id, customer_id, ordered_at, order_total.") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return('select 1 as raw_files_registered') }}
{% endmacro %}


{% macro _clv_load_csv_files(table, pattern, target, malformed) %}
    {#- Loads the CSV file(s) matching pattern into the table target (columns united by name), and their
        unreadable lines into malformed. -#}
    {%- set encoding = clv_var('raw_file_encoding') -%}
    {%- set files = run_query("select filename, size from read_blob('" ~ (pattern | replace("'", "''")) ~ "') order by filename") -%}
    {%- set parts = [] -%}
    {%- for file in files.rows -%}
        {%- if file[1] > 0 -%}
            {%- set part = target ~ '__part_' ~ loop.index -%}
            {%- set path = file[0] | replace("'", "''") -%}
            {%- do run_query("drop table if exists clv_csv_rejects; drop table if exists clv_csv_scans") -%}
            {%- do run_query("create or replace table " ~ part ~ " as select * from read_csv('" ~ path ~ "', header = true, all_varchar = true,"
                ~ " quote = '\"', escape = '\"', encoding = '" ~ encoding ~ "', store_rejects = true,"
                ~ " rejects_table = 'clv_csv_rejects', rejects_scan = 'clv_csv_scans')") -%}
            {%- set undecodable = run_query("select min(line) from clv_csv_rejects where error_type like '%ENCODING%' or error_type like '%UNICODE%'") -%}
            {%- if undecodable.rows[0][0] is not none -%}
                {%- do run_query("drop table if exists " ~ part) -%}
                {{ exceptions.raise_compiler_error("The raw file " ~ file[0] ~ " is not " ~ encoding ~ " encoded (line " ~ undecodable.rows[0][0] ~ " does not decode). Set the var raw_file_encoding to the file's encoding, e.g. --vars '{raw_data_dir: ..., raw_file_encoding: latin-1}'. Accepted values: utf-8, utf-16, latin-1.") }}
            {%- endif -%}
            {%- do run_query("insert into " ~ malformed ~ " select distinct '" ~ path ~ "', line, " ~ ("null" if clv_personal_columns(table) else "csv_line") ~ " from clv_csv_rejects") -%}
            {%- do parts.append(part) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if parts -%}
        {%- set union = [] -%}
        {%- for part in parts -%}{%- do union.append('select * from ' ~ part) -%}{%- endfor -%}
        {%- do run_query('create table ' ~ target ~ ' as ' ~ (union | join(' union all by name '))) -%}
        {%- for part in parts -%}{%- do run_query('drop table ' ~ part) -%}{%- endfor -%}
    {%- endif -%}
    {{ return(parts | length) }}
{% endmacro %}


{% macro clv_raw_location(table_name, relation) %}
    {#- Where a raw table was read from, for messages: the file(s) in raw_data_dir, else the relation. -#}
    {%- if clv_var('raw_data_dir') is not none -%}
        {{ return(clv_var('raw_data_dir') ~ '/' ~ relation.identifier ~ '.csv (or .parquet, or the folder ' ~ relation.identifier ~ '/)') }}
    {%- endif -%}
    {{ return(relation | string) }}
{% endmacro %}


{% macro clv_raw_relation(table_name) %}
    {#- The relation the contract's raw table table_name is read from: the raw source's table (the demo
        seed, a raw_data_dir file, or a table in raw_schema, named by raw_identifiers), or, when the var
        raw_models names a dbt model or seed of the project for it, that node (a ref: it is built first,
        and lineage shows it). Inside a dbt unit test always the source, which the tests give as input. -#}
    {%- set relation = source('raw', table_name) -%}
    {%- set node = clv_var('raw_models').get(table_name) -%}
    {%- if node and not (model is defined and model is not none and model.resource_type == 'unit_test') -%}
        {{ return(ref(node)) }}
    {%- endif -%}
    {{ return(relation) }}
{% endmacro %}


{% macro clv_raw_schema() %}
    {#- The schema the raw source reads; defined once, in _raw__sources.yml. -#}
    {{ return(source('raw', 'orders').schema) }}
{% endmacro %}


{% macro raw_source_select(relation, table_name, columns, required_columns=[]) %}
    {#-
        A select of the raw table `relation` (the model's clv_raw_relation(...)), named table_name in the
        contract, with the given columns as trimmed text ('' becomes null), whatever
        their case or type in the raw table. An absent optional table gives an empty result with the
        same columns; an absent optional column gives nulls. The orders table and the
        required_columns must exist, or the build stops with a message naming what is missing.
        A last column, malformed_line, is null except on the lines of a raw CSV file that could not be
        split into its columns (raw_data_dir mode): there it describes the line (file, number, text;
        no text for a table with personal data) and every other column is null.
    -#}
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
                {%- do present.update({column.name | lower | trim: column.name}) -%}
            {%- endfor -%}
            {%- set missing = [] -%}
            {%- for column in required_columns -%}
                {%- if column not in present -%}{%- do missing.append(column) -%}{%- endif -%}
            {%- endfor -%}
            {%- if missing -%}
                {%- set where = clv_raw_location(table_name, relation) -%}
                {%- set names = present.keys() | list -%}
                {%- set hint = '' -%}
                {%- if names | length == 1 and (names[0] is search('[,;|\t]')) -%}
                    {%- set hint = ' The file was read as a single column: its separator could not be detected (a header of one column, or lines that disagree on the number of fields throughout).' -%}
                {%- endif -%}
                {{ exceptions.raise_compiler_error("The raw table " ~ table_name ~ " at " ~ where ~ " lacks the required column(s) " ~ (missing | join(', ')) ~ "; it has: " ~ (names | join(', ')) ~ "." ~ hint) }}
            {%- endif -%}
        {%- endif -%}
    {%- endif %}
    {%- set malformed = none -%}
    {%- if execute and relation.schema is not none and clv_var('raw_data_dir') is not none -%}
        {%- set malformed = adapter.get_relation(database=relation.database, schema=relation.schema, identifier=relation.identifier ~ '__malformed') -%}
    {%- endif %}
    select
    {%- for column in columns %}
        {%- if column in present %}
        nullif(trim(cast({{ adapter.quote(present[column]) }} as {{ dbt.type_string() }})), '') as {{ column }}
        {%- else %}
        cast(null as {{ dbt.type_string() }}) as {{ column }}
        {%- endif %},
    {%- endfor %}
        cast(null as {{ dbt.type_string() }}) as malformed_line
    {%- if existing is not none %}
    from {{ existing }}
    {%- else %}
    {{ clv_empty_from() }}
    where 1 = 0
    {%- endif %}
    {%- if malformed is not none %}
    union all
    select
        {%- for column in columns %}
        cast(null as {{ dbt.type_string() }}) as {{ column }},
        {%- endfor %}
        'line ' || cast(line_number as {{ dbt.type_string() }}) || ' of ' || file_name || ': '
        || coalesce(line_text, 'content withheld (the table holds personal data)') as malformed_line
    from {{ malformed }}
    {%- endif %}
{% endmacro %}


{% macro clv_empty_from() %}
    {{ return(adapter.dispatch('clv_empty_from', 'clv')()) }}
{% endmacro %}

{% macro default__clv_empty_from() %}{% endmacro %}
