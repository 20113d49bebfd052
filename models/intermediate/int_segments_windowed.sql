-- Window counts and sums per segment (SPEC section 5): the inputs of every segment_clv metric.
{%- set dimensions = clv_var('segment_dimensions') %}

with

customers as (

    select * from {{ ref('int_customers_summarised') }}

),

marketing_spend as (

    select * from {{ ref('stg_raw__marketing_spend') }}

),

parameters as (

    select * from {{ ref('int_parameters') }}

),

customer_segments as (

    select
        'all' as segment_dimension,
        'all' as segment_value,
        customers.*
    from customers
    {%- for dimension in dimensions %}

        union all

        select
            '{{ dimension }}' as segment_dimension,
            {{ dbt.cast(dimension, dbt.type_string()) }} as segment_value,
            customers.*
        from customers
    {%- endfor %}

),

segment_counts as (

    select
        segment_dimension,
        segment_value,
        cast(count(*) as {{ dbt.type_bigint() }}) as customers,
        cast(sum(case when is_active_in_window then 1 else 0 end) as {{ dbt.type_bigint() }}) as active_customers,
        cast(sum(window_orders) as {{ dbt.type_bigint() }}) as orders,
        sum(window_revenue) as revenue,
        sum(window_cogs) as cogs,
        cast(sum(case when is_active_in_prior_window then 1 else 0 end) as {{ dbt.type_bigint() }}) as prior_window_customers,
        cast(
            sum(case when is_active_in_prior_window and is_active_in_window then 1 else 0 end) as {{ dbt.type_bigint() }}
        ) as retained_customers,
        cast(sum(case when is_new_in_window then 1 else 0 end) as {{ dbt.type_bigint() }}) as new_customers,
        case when count(predicted_clv) = count(*) then avg(predicted_clv) end as predicted_clv_per_customer,
        case when count(predicted_clv) = count(*) then sum(predicted_clv) end as predicted_clv_total
    from customer_segments
    group by segment_dimension, segment_value

),

spend_in_window as (

    select
        marketing_spend.channel,
        sum(marketing_spend.amount_reporting) as acquisition_spend
    from marketing_spend
    cross join parameters
    where
        marketing_spend.spend_date > parameters.window_start_date
        and marketing_spend.spend_date <= parameters.as_of_date
    group by marketing_spend.channel

),

spend_data as (

    select count(*) as spend_rows from marketing_spend

),

spend_total as (

    select coalesce(sum(acquisition_spend), 0) as total_acquisition_spend from spend_in_window

),

final as (

    select
        segment_counts.segment_dimension,
        segment_counts.segment_value,
        segment_counts.customers,
        segment_counts.active_customers,
        segment_counts.orders,
        segment_counts.revenue,
        segment_counts.cogs,
        segment_counts.prior_window_customers,
        segment_counts.retained_customers,
        segment_counts.new_customers,
        segment_counts.predicted_clv_per_customer,
        segment_counts.predicted_clv_total,
        case
            when spend_data.spend_rows = 0 then null
            when segment_counts.segment_dimension = 'all'
                then spend_total.total_acquisition_spend
            -- customers without a known channel cannot be matched to spend: no CAC rather than a free one
            when segment_counts.segment_dimension = 'acquisition_channel' and segment_counts.segment_value = 'unknown' then null
            when segment_counts.segment_dimension = 'acquisition_channel'
                then coalesce(spend_in_window.acquisition_spend, 0)
        end as acquisition_spend
    from segment_counts
    cross join spend_data
    cross join spend_total
    left join spend_in_window
        on
            segment_counts.segment_dimension = 'acquisition_channel'
            and segment_counts.segment_value = spend_in_window.channel

)

select * from final
