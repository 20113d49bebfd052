-- One row per customer with a purchase on or before as_of: purchase history, window activity, attributes.
with

purchases as (

    select * from {{ ref('int_purchases_sequenced') }}

),

customers as (

    select * from {{ ref('stg_raw__customers') }}

),

parameters as (

    select * from {{ ref('int_parameters') }}

),

purchase_history as (

    select
        customer_id,
        min(order_date) as first_purchase_date,
        max(order_date) as last_purchase_date,
        cast(count(*) as {{ dbt.type_bigint() }}) as purchases,
        sum(net_revenue) as revenue,
        sum(cogs) as cogs,
        sum(gross_profit) as gross_profit,
        cast(sum(case when is_in_window then 1 else 0 end) as {{ dbt.type_bigint() }}) as window_orders,
        sum(case when is_in_window then net_revenue else 0 end) as window_revenue,
        sum(case when is_in_window then cogs else 0 end) as window_cogs,
        max(case when is_in_window then 1 else 0 end) = 1 as is_active_in_window,
        max(case when is_in_prior_window then 1 else 0 end) = 1 as is_active_in_prior_window
    from purchases
    group by customer_id

),

final as (

    select
        purchase_history.customer_id,
        coalesce(customers.acquisition_channel, 'unknown') as acquisition_channel,
        coalesce(customers.country, 'unknown') as country,
        {%- for column in clv_custom_segment_columns() %}
            coalesce(customers.{{ column }}, 'unknown') as {{ column }},
        {%- endfor %}
        cast(extract(year from purchase_history.first_purchase_date) as {{ dbt.type_int() }}) as cohort_year,
        cast({{ dbt.date_trunc('month', 'purchase_history.first_purchase_date') }} as date) as cohort_month,
        purchase_history.first_purchase_date,
        purchase_history.last_purchase_date,
        purchase_history.purchases,
        purchase_history.revenue,
        purchase_history.cogs,
        purchase_history.gross_profit,
        purchase_history.window_orders,
        purchase_history.window_revenue,
        purchase_history.window_cogs,
        purchase_history.is_active_in_window,
        purchase_history.is_active_in_prior_window,
        purchase_history.first_purchase_date > parameters.window_start_date as is_new_in_window,
        {{ clv_days_between('purchase_history.first_purchase_date', 'parameters.as_of_date') }} as tenure_days,
        {{ clv_days_between('purchase_history.last_purchase_date', 'parameters.as_of_date') }} as recency_days,
        case
            when purchase_history.purchases > 1
                then cast(
                        {{ clv_days_between('purchase_history.first_purchase_date', 'purchase_history.last_purchase_date') }}
                        as {{ clv_type_double() }}
                    ) / (purchase_history.purchases - 1)
        end as avg_days_between_purchases
    from purchase_history
    cross join parameters
    left join customers
        on purchase_history.customer_id = customers.customer_id

)

select * from final
