-- Window counts and sums per segment (docs/definitions.md, "Segment CLV"): the inputs of every segment_clv metric.

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

    {{ clv_customer_segments('customers') }}

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
        cast(sum(case when is_new_in_window then 1 else 0 end) as {{ dbt.type_bigint() }}) as new_customers
    from customer_segments
    group by segment_dimension, segment_value

),

segments_with_business as (

    select * from segment_counts

    union all

    -- the whole business is published even when no customer has a purchase on or before as_of
    select
        'all' as segment_dimension,
        'all' as segment_value,
        cast(0 as {{ dbt.type_bigint() }}) as customers,
        cast(0 as {{ dbt.type_bigint() }}) as active_customers,
        cast(0 as {{ dbt.type_bigint() }}) as orders,
        cast(0 as {{ clv_type_double() }}) as revenue,
        cast(0 as {{ clv_type_double() }}) as cogs,
        cast(0 as {{ dbt.type_bigint() }}) as prior_window_customers,
        cast(0 as {{ dbt.type_bigint() }}) as retained_customers,
        cast(0 as {{ dbt.type_bigint() }}) as new_customers
    from (
        select count(*) as business_rows
        from segment_counts
        where segment_dimension = 'all'
    ) as business
    where business.business_rows = 0

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
        segments_with_business.segment_dimension,
        segments_with_business.segment_value,
        segments_with_business.customers,
        segments_with_business.active_customers,
        segments_with_business.orders,
        segments_with_business.revenue,
        segments_with_business.cogs,
        segments_with_business.prior_window_customers,
        segments_with_business.retained_customers,
        segments_with_business.new_customers,
        case
            when spend_data.spend_rows = 0 then null
            when segments_with_business.segment_dimension = 'all'
                then spend_total.total_acquisition_spend
            when segments_with_business.segment_dimension = 'acquisition_channel'
                then {{ clv_channel_spend(
                    'segments_with_business.segment_value', 'spend_in_window.acquisition_spend', 'spend_data.spend_rows'
                ) }}
        end as acquisition_spend
    from segments_with_business
    cross join spend_data
    cross join spend_total
    left join spend_in_window
        on
            segments_with_business.segment_dimension = 'acquisition_channel'
            and segments_with_business.segment_value = spend_in_window.channel

)

select * from final
