-- Every raw refunds row, typed, with its quarantine reason (docs/definitions.md, "Bad input").
-- Cross-table checks: its order is a clean order (base_raw__orders).
{%- if clv_uses_demo_seeds() %}
-- depends_on: {{ ref('refunds') }} (the demo seed, loaded by the same dbt build)
{%- endif %}
{% set raw_columns = ['refund_id', 'order_id', 'refunded_at', 'amount'] -%}
{{
    config(
        materialized=clv_incremental_materialization(),
        incremental_strategy='delete+insert',
        unique_key='raw_key',
        on_schema_change='fail',
        post_hook="{{ clv_report_late_rows(this, 'refunds', ['refund_id'], 'refunded_at') }}"
    )
}}


with

source as (

    {{ raw_source_select(clv_raw_relation('refunds'), 'refunds', raw_columns, required_columns=['refund_id', 'order_id', 'amount']) }}

),

orders as (

    select order_id from {{ ref('base_raw__orders') }}
    where quarantine_reason is null

),

{%- if is_incremental() %}

    lookback as (

        select {{ clv_lookback_start(this, 'refunded_at') }} as lookback_start

    ),

    orders_refreshed as (

        -- orders recomputed since this table's last run: their refunds may change (orphan or not)
        select raw_key as order_id from {{ ref('base_raw__orders') }}
        where dbt_processed_at > {{ clv_last_processed_at(this) }}

    ),

    keys_to_refresh as (

        -- refunds dated within the lookback or later, refunds whose date does not parse, refunds of
        -- recomputed orders
        select distinct {{ clv_raw_key(['refund_id']) }} as raw_key
        from source
        cross join lookback
        where
            {{ clv_is_within_lookback(clv_try_timestamp('source.refunded_at'), 'lookback.lookback_start') }}
            or source.order_id in (select orders_refreshed.order_id from orders_refreshed)

    ),

    source_to_refresh as (

        -- every raw row of those keys, so that duplicates and conflicts are judged on all of them
        select * from source
        where {{ clv_raw_key(['refund_id']) }} in (select keys_to_refresh.raw_key from keys_to_refresh)

    ),

{%- endif %}

typed as (

    select
        checked.refund_id,
        checked.order_id,
        {{ clv_try_timestamp('checked.refunded_at') }} as refunded_at,
        checked.refunded_at is not null as has_refunded_at,
        {{ clv_try_number('checked.amount') }} as amount,
        orders.order_id is not null as has_clean_order,
        {{ clv_checked_columns() }}
    from ({{ clv_checked_rows('source_to_refresh' if is_incremental() else 'source', raw_columns, key=['refund_id']) }}) as checked
    left join orders
        on checked.order_id = orders.order_id

),

rules as (

    select
        *,
        case
            {{ clv_row_reasons('conflicting_refund_id') }}
            when refund_id is null then 'null_refund_id'
            when order_id is null then 'null_order_id'
            when has_refunded_at and refunded_at is null then 'unparseable_timestamp'
            when amount is null then 'unparseable_number'
            when {{ clv_is_implausible(['amount']) }} then 'implausible_amount'
            when amount < 0 then 'negative_amount'
            when cast(refunded_at as date) > {{ clv_future_cutoff() }} then 'future_dated'
            when not has_clean_order then 'orphan_refund'
        end as quarantine_reason
    from typed

),

final as (

    select
        refund_id,
        order_id,
        refunded_at,
        amount,
        {{ clv_quarantine_columns() }},
        {{ clv_processed_at() }} as dbt_processed_at
    from rules

)

select * from final
