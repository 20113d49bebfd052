{%- set raw_columns = ['order_id', 'product_id', 'quantity', 'unit_price'] -%}

with

source as (

    {{ raw_source_select('order_items', raw_columns, required_columns=['order_id', 'product_id', 'quantity']) }}

),

orders as (

    select order_id from {{ ref('stg_raw__orders') }}

),

rows_described as (

    select
        *,
        {{ clv_raw_row(raw_columns) }} as raw_row,
        {{ clv_raw_key(['order_id', 'product_id']) }} as raw_key
    from source

),

rows_checked as (

    select
        *,
        {{ clv_row_checks([]) }}
    from rows_described

),

typed as (

    select
        rows_checked.order_id,
        rows_checked.product_id,
        {{ clv_try_number('rows_checked.quantity') }} as quantity,
        {{ clv_try_number('rows_checked.unit_price') }} as unit_price,
        rows_checked.unit_price is not null as has_unit_price,
        rows_checked.raw_key,
        rows_checked.raw_row,
        rows_checked.copy_number,
        orders.order_id is not null as has_clean_order
    from rows_checked
    left join orders
        on rows_checked.order_id = orders.order_id

),

final as (

    select
        order_id,
        product_id,
        quantity,
        unit_price,
        raw_key,
        raw_row,
        copy_number,
        case
            when copy_number > 1 then 'duplicate_row'
            when order_id is null then 'null_order_id'
            when product_id is null then 'null_product_id'
            when quantity is null or (has_unit_price and unit_price is null) then 'unparseable_number'
            when quantity <= 0 or unit_price < 0 then 'negative_amount'
            when not has_clean_order then 'orphan_item'
        end as quarantine_reason
    from typed

)

select * from final
