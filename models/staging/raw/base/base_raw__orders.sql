-- Every raw orders row, typed, with its quarantine reason (docs/definitions.md, "Bad input").
-- Cross-table checks: the FX rate of the order date (base_raw__fx_rates, its clean rates).
{%- if clv_uses_demo_seeds() %}
-- depends_on: {{ ref('orders') }} (the demo seed, loaded by the same dbt build)
{%- endif %}
{% set raw_columns = ['order_id', 'customer_id', 'ordered_at', 'order_total', 'status', 'currency'] -%}
{{
    config(
        materialized=clv_incremental_materialization(),
        incremental_strategy='delete+insert',
        unique_key='raw_key',
        on_schema_change='fail',
        post_hook=[
            "{{ clv_stop_without_clean_orders(this) }}",
            "{{ clv_report_late_rows(this, 'orders', ['order_id'], 'ordered_at') }}"
        ]
    )
}}


with

source as (

    {{ raw_source_select(
        clv_raw_relation('orders'), 'orders', raw_columns,
        required_columns=['order_id', 'customer_id', 'ordered_at', 'order_total']
    ) }}

),

{%- if is_incremental() %}

    lookback as (

        select {{ clv_lookback_start(this, 'ordered_at') }} as lookback_start

    ),

    keys_to_refresh as (

        -- orders dated within the lookback or later, and orders whose date does not parse
        select distinct {{ clv_raw_key(['order_id']) }} as raw_key
        from source
        cross join lookback
        where
            {{ clv_is_within_lookback(clv_try_timestamp('source.ordered_at'), 'lookback.lookback_start') }}

    ),

    source_to_refresh as (

        -- every raw row of those keys, so that duplicates and conflicts are judged on all of them
        select * from source
        where {{ clv_raw_key(['order_id']) }} in (select keys_to_refresh.raw_key from keys_to_refresh)

    ),

{%- endif %}

fx_rates as (

    select * from {{ ref('base_raw__fx_rates') }}
    where quarantine_reason is null

),

typed as (

    select
        order_id,
        customer_id,
        {{ clv_try_timestamp('ordered_at') }} as ordered_at,
        {{ clv_try_number('order_total') }} as order_total,
        coalesce(lower(status), 'completed') as status,
        coalesce(upper(currency), '{{ clv_var("reporting_currency") }}') as currency,
        {{ clv_checked_columns() }}
    from (
        {{ clv_checked_rows('source_to_refresh' if is_incremental() else 'source', raw_columns, key=['order_id']) }}
    ) as checked

),

fx_looked_up as (

    {{ clv_fx_rate_lookup('typed', 'cast(typed.ordered_at as date)', 'fx_rates') }}

),

rules as (

    select
        *,
        case
            {{ clv_row_reasons('conflicting_order_id') }}
            when order_id is null then 'null_order_id'
            when customer_id is null then 'null_customer_id'
            when ordered_at is null then 'unparseable_timestamp'
            when order_total is null then 'unparseable_number'
            when {{ clv_is_implausible(['order_total', 'order_total * fx_rate']) }} then 'implausible_amount'
            when order_total < 0 then 'negative_amount'
            when status not in ('placed', 'shipped', 'completed', 'returned', 'cancelled') then 'unknown_status'
            when fx_rate is null then 'missing_fx_rate'
            when cast(ordered_at as date) > {{ clv_future_cutoff() }} then 'future_dated'
        end as quarantine_reason
    from fx_looked_up

),

final as (

    select
        order_id,
        customer_id,
        ordered_at,
        cast(ordered_at as date) as order_date,
        order_total,
        status,
        currency,
        fx_rate,
        {{ clv_quarantine_columns() }},
        {{ clv_processed_at() }} as dbt_processed_at
    from rules

)

select * from final
