{#
    Per-customer incremental tables (int_purchases_sequenced, int_customers_bgnbd_inputs); see
    docs/decisions.md #44, "The customer layer per changed customer".

    A row of these tables is a function of its customer's rows in the table above and of int_parameters'
    settings (parameters_signature: of the columns these tables read). While the signature stays put (the
    as-of pinned by as_of_period week or month, or by as_of_date), an incremental run recomputes only the
    customers whose rows above changed since the table's own last run:
    1. pre-hook: <table>__changed_customers, the changed customers (a work table, dropped by the post-hook);
    2. pre-hook: their rows are deleted, and every row written under another signature (then all are);
    3. the model selects the changed customers' rows, or every customer when the table is now empty, and
       they are appended.
    A customer whose rows above are all gone is changed too, and gets no row. Spark: tables (no delete).
#}

{% macro clv_customer_layer_settings() %}
    {#- The int_parameters columns behind parameters_signature: those the per-customer incremental tables read
        (test_project_hygiene.py checks their compiled SQL against this list). -#}
    {{ return([
        'as_of_date', 'window_start_date', 'prior_window_start_date', 'holdout_start_date',
        'calibration_window_start_date', 'window_years', 'default_gross_margin', 'time_unit', 'time_unit_days'
    ]) }}
{% endmacro %}


{% macro clv_row_signature(columns) -%}
    {#- md5 of the columns' values as text, '|'-separated (a null as the empty string). -#}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- if not loop.first %}{% do parts.append("'|'") %}{% endif -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '')") -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}


{% macro clv_changed_customers_relation() %}
    {{ return(this.incorporate(path={'identifier': this.identifier ~ '__changed_customers'})) }}
{% endmacro %}


{% macro clv_is_customer_layer_current() %}
    {#- True when the existing table has the columns of a per-customer incremental table (a table written by an
        earlier version of the project has not: then it is emptied and rebuilt). -#}
    {%- set names = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list -%}
    {{ return('dbt_processed_at' in names and 'parameters_signature' in names) }}
{% endmacro %}


{% macro clv_drop_changed_customers() %}
    drop table if exists {{ clv_changed_customers_relation() }}
{% endmacro %}


{% macro clv_collect_changed_customers(changed_customers) %}
    {#- Pre-hook: the changed customers (changed_customers: a select of customer_id, which may repeat) into the
        work table on an incremental run; none when the table is not a current one (it is then emptied by
        clv_remove_changed_customers). -#}
    {%- if is_incremental() -%}
        create table {{ clv_changed_customers_relation() }} as
        select distinct changed.customer_id
        from (
            {%- if clv_is_customer_layer_current() %}
                {{ changed_customers }}
            {%- else %}
                select customer_id from {{ this }} where 1 = 0
            {%- endif %}
        ) as changed
    {%- else -%}
        select 1 as nothing_to_collect
    {%- endif -%}
{% endmacro %}


{% macro clv_remove_changed_customers(parameters) %}
    {#- Pre-hook: delete the changed customers' rows and every row written under another parameters_signature. -#}
    {%- if is_incremental() and clv_is_customer_layer_current() -%}
        delete from {{ this }}
        where
            customer_id in (select changed.customer_id from {{ clv_changed_customers_relation() }} as changed)
            or not (coalesce(parameters_signature, '') = (select current_parameters.parameters_signature from {{ parameters }} as current_parameters))
    {%- elif is_incremental() -%}
        delete from {{ this }}
    {%- else -%}
        select 1 as nothing_to_remove
    {%- endif -%}
{% endmacro %}


{% macro clv_is_changed_customer(customer_id) -%}
    {#- In the model: on an incremental run, the rows of the changed customers, or every row when the table is
        empty (a first run, a changed signature); true otherwise. -#}
    {%- if is_incremental() -%}
        (
            {{ customer_id }} in (select changed.customer_id from {{ clv_changed_customers_relation() }} as changed)
            or not exists (select 1 from {{ this }})
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}


{% macro clv_changed_purchasers(orders_priced, order_changes) -%}
    {#- int_purchases_sequenced's changed customers: of the orders priced since its last run, and of its rows
        whose order had a row recomputed since (an order quarantined since, or moved to another customer). -#}
    select customer_id from {{ orders_priced }}
    where dbt_processed_at > {{ clv_last_processed_at(this) }}
    union all
    select held.customer_id from {{ this }} as held
    where held.order_id in (
        select order_changes.order_id from {{ order_changes }} as order_changes
        where order_changes.dbt_processed_at > {{ clv_last_processed_at(this) }}
    )
{%- endmacro %}


{% macro clv_changed_sequenced_customers(purchases) -%}
    {#- int_customers_bgnbd_inputs' changed customers: those with purchases rewritten since its last run (a
        changed customer's purchases are all rewritten), and those with rows here and no purchase left. -#}
    select customer_id from {{ purchases }}
    where dbt_processed_at > {{ clv_last_processed_at(this) }}
    union all
    select held.customer_id from {{ this }} as held
    where
        held.fit = 'full'
        and not exists (select 1 from {{ purchases }} as purchases where purchases.customer_id = held.customer_id)
{%- endmacro %}
