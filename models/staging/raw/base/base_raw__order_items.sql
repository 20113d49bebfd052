-- Every raw order_items row, typed, with its quarantine reason (docs/definitions.md, "Bad input").
-- Cross-table checks: its order is a clean order (base_raw__orders).
{%- if clv_uses_demo_seeds() %}
-- depends_on: {{ ref('order_items') }} (the demo seed, loaded by the same dbt build)
{%- endif %}
{% set raw_columns = ['order_id', 'product_id', 'quantity', 'unit_price', 'order_item_id'] -%}
{{
    config(
        materialized=clv_incremental_materialization(),
        incremental_strategy='delete+insert',
        unique_key='order_key',
        on_schema_change='fail',
        post_hook="{{ clv_report_late_rows(this, 'order_items') }}"
    )
}}


with

source as (

    {{ raw_source_select(
        clv_raw_relation('order_items'), 'order_items', raw_columns,
        required_columns=['order_id', 'product_id', 'quantity']
    ) }}

),

orders as (

    select order_id from {{ ref('base_raw__orders') }}
    where quarantine_reason is null

),

{%- if is_incremental() %}

    orders_refreshed as (

        -- orders recomputed since this table's last run: their lines may change (orphan or not)
        select raw_key as order_key from {{ ref('base_raw__orders') }}
        where dbt_processed_at > {{ clv_last_processed_at(this) }}

    ),

    source_to_refresh as (

        -- every raw line of those orders, and the lines of orders that have none here yet
        select * from source
        where
            {{ clv_raw_key(['order_id']) }} in (select orders_refreshed.order_key from orders_refreshed)
            or {{ clv_raw_key(['order_id']) }} not in (select loaded.order_key from {{ this }} as loaded)

    ),

{%- endif %}

typed as (

    select
        checked.order_id,
        checked.product_id,
        {{ clv_try_number('checked.quantity') }} as quantity,
        {{ clv_try_number('checked.unit_price') }} as unit_price,
        checked.unit_price is not null as has_unit_price,
        {{ clv_raw_key(['checked.order_id']) }} as order_key,
        orders.order_id is not null as has_clean_order,
        {{ clv_checked_columns() }}
    -- the line key is (order_id, order_item_id) where the raw table has order_item_id; without it,
    -- identical lines of one order are copies of one line
    from (
        {{ clv_checked_rows(
            'source_to_refresh' if is_incremental() else 'source', raw_columns,
            key=['order_id', 'product_id'], conflict_key=['order_id', 'order_item_id']
        ) }}
    ) as checked
    left join orders
        on checked.order_id = orders.order_id

),

rules as (

    select
        *,
        case
            {{ clv_row_reasons('conflicting_order_item_id') }}
            when order_id is null then 'null_order_id'
            when product_id is null then 'null_product_id'
            when quantity is null or (has_unit_price and unit_price is null) then 'unparseable_number'
            when {{ clv_is_implausible(['quantity', 'unit_price']) }} then 'implausible_amount'
            when quantity <= 0 or unit_price < 0 then 'negative_amount'
            when not has_clean_order then 'orphan_item'
        end as quarantine_reason
    from typed

),

final as (

    select
        {{ dbt.hash("order_id || '|' || raw_row") }} as order_item_id,
        order_id,
        product_id,
        quantity,
        unit_price,
        order_key,
        {{ clv_quarantine_columns() }},
        {{ clv_processed_at() }} as dbt_processed_at
    from rules

)

select * from final
