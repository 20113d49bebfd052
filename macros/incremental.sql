{#
    Incremental runs of the order-level layers (base_raw__orders, base_raw__order_items,
    base_raw__refunds, int_orders_priced); see docs/decisions.md "Incremental runs".

    Each of these tables carries dbt_processed_at, the start of the dbt run that last (re)computed
    the row. A run recomputes, from the raw rows:
    - orders and refunds dated on or after the newest clean date already loaded minus
      incremental_lookback_days (late arrivals), or whose date does not parse, with every raw row
      sharing their key (so duplicates and conflicting ids are judged exactly as in a full refresh);
    - order lines and refunds of the orders recomputed since the table's own last run, and order
      lines of orders that have none yet (new orphans included);
    - int_orders_priced for every order whose order, lines or refunds were recomputed since its last run.
    Rows are replaced by key (delete+insert). Spark has no delete+insert: there they are tables.
#}

{% macro clv_incremental_materialization() %}
    {{ return('table' if target.type == 'spark' else 'incremental') }}
{% endmacro %}


{% macro clv_processed_at() -%}
    {#- The start of this dbt run, as a timestamp literal: the dbt_processed_at of the rows it writes. -#}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}


{% macro clv_last_processed_at(relation) -%}
    {#- The newest dbt_processed_at in an incremental table (a scalar subquery), or 1900-01-01 when it is empty. -#}
    (select coalesce(max(dbt_processed_at), cast('1900-01-01' as {{ dbt.type_timestamp() }})) from {{ relation }})
{%- endmacro %}


{% macro clv_lookback_start(relation, timestamp_column) -%}
    {#- The newest clean timestamp_column in the incremental table, minus incremental_lookback_days
        (a scalar subquery; null when the table holds no clean row, and then every raw row is read). -#}
    (
        select {{ dbt.dateadd('day', -1 * clv_var('incremental_lookback_days'), 'max(' ~ timestamp_column ~ ')') }}
        from {{ relation }}
        where quarantine_reason is null
    )
{%- endmacro %}


{% macro clv_is_within_lookback(timestamp_expression, lookback_start) -%}
    {#- True for a row an incremental run recomputes: no lookback yet (empty table), a timestamp that
        does not parse, or one on or after the lookback start. -#}
    ({{ lookback_start }} is null or {{ timestamp_expression }} is null or {{ timestamp_expression }} >= {{ lookback_start }})
{%- endmacro %}


{% macro clv_remove_orders_to_reprice(order_changes) %}
    {#- Pre-hook of int_orders_priced (which passes ref('stg_raw__order_changes')): on an incremental run,
        delete the orders with a row recomputed since this table's last run. The clean ones are priced
        again by the run; the ones quarantined since stay out (delete+insert alone would keep them). -#}
    {%- if is_incremental() -%}
        delete from {{ this }}
        where order_id in (
            select order_id from {{ order_changes }}
            where dbt_processed_at > {{ clv_last_processed_at(this) }}
        )
    {%- else -%}
        select 1 as nothing_to_remove
    {%- endif -%}
{% endmacro %}


{% macro clv_report_late_rows(relation, table, key_columns=none, timestamp_column=none) %}
    {#- Post-hook of the incremental base models: after an incremental run, raw rows that are not in the table
        were never read (dated before the run's lookback, or lines of an order loaded before and not re-read).
        Their count, and the oldest date where the table has one, go to the build log with what to do; the
        reconciliation test (assert_raw_rows_reconcile) then fails, so nothing is published. A full refresh
        reads them. Two counts when nothing is late; the oldest date only when something is. -#}
    {%- if not execute or not is_incremental() -%}{{ return('select 1 as late_rows_checked') }}{%- endif -%}
    {%- set raw_select = raw_source_select(clv_raw_relation(table), table, (key_columns or []) + ([timestamp_column] if timestamp_column else []) or ['placeholder_column']) -%}
    {%- set counted = run_query(
        'select (select count(*) from (' ~ raw_select ~ ') as raw_rows) - (select count(*) from ' ~ relation ~ ') as missed'
    ) -%}
    {%- set missed = counted.columns[0].values()[0] | int -%}
    {%- if missed > 0 -%}
        {%- set oldest = '' -%}
        {%- if timestamp_column -%}
            {%- set found = run_query(
                'select min(cast(' ~ clv_try_timestamp('raw_rows.' ~ timestamp_column) ~ ' as date)) from (' ~ raw_select
                ~ ') as raw_rows where ' ~ clv_raw_key(key_columns) ~ ' not in (select raw_key from ' ~ relation ~ ')'
            ) -%}
            {%- set oldest = ', the oldest dated ' ~ found.columns[0].values()[0] -%}
        {%- endif -%}
        {{ log(
            'CLV late data: ' ~ table ~ ': ' ~ '{:,}'.format(missed) ~ (' raw row was' if missed == 1 else ' raw rows were')
            ~ ' not read by this incremental run'
            ~ oldest ~ ' (rows dated before its lookback of incremental_lookback_days = ' ~ clv_var('incremental_lookback_days')
            ~ ' days, or lines of orders loaded before). The reconciliation test fails and nothing is published: run'
            ~ ' `make build DBT_ARGS=--full-refresh` (dbt build --full-refresh) to read them, or raise incremental_lookback_days.',
            info=True
        ) }}
    {%- endif -%}
    {{ return('select 1 as late_rows_checked') }}
{% endmacro %}


{% macro get_incremental_replace_sql(arg_dict) %}
    {#- The incremental strategy `replace` (int_bgnbd_histories_predicted): the run's rows replace every row
        of the table. The model reads the table before (rows it reuses), so it is incremental, not a table. -#}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ arg_dict['target_relation'] }};
    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{% endmacro %}
