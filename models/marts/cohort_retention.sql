-- Grain: cohort_month x months_since_first_purchase.
-- Active customers, retention and cumulative revenue per customer of each monthly cohort.
with

customers as (

    select * from {{ ref('int_customers_summarised') }}

),

purchases as (

    select * from {{ ref('int_purchases_sequenced') }}

),

parameters as (

    select * from {{ ref('int_parameters') }}

),

month_offsets as (

    {{ clv_integer_series(1200) }}

),

cohorts as (

    select
        cohort_month,
        count(*) as cohort_customers
    from customers
    group by cohort_month

),

cohort_grid as (

    select
        cohorts.cohort_month,
        cohorts.cohort_customers,
        month_offsets.n as months_since_first_purchase
    from cohorts
    cross join parameters
    inner join month_offsets
        on month_offsets.n <= {{ clv_month_index('parameters.as_of_date') }} - {{ clv_month_index('cohorts.cohort_month') }}

),

purchases_aged as (

    select
        customers.cohort_month,
        purchases.customer_id,
        purchases.net_revenue,
        {{ clv_month_index('purchases.order_date') }} - {{ clv_month_index('customers.cohort_month') }} as months_since_first_purchase
    from purchases
    inner join customers
        on purchases.customer_id = customers.customer_id

),

activity as (

    select
        cohort_month,
        months_since_first_purchase,
        count(distinct customer_id) as active_customers,
        sum(net_revenue) as revenue
    from purchases_aged
    group by cohort_month, months_since_first_purchase

),

final as (

    select
        cohort_grid.cohort_month,
        cast(cohort_grid.months_since_first_purchase as {{ dbt.type_int() }}) as months_since_first_purchase,
        cast(cohort_grid.cohort_customers as {{ dbt.type_bigint() }}) as cohort_customers,
        cast(coalesce(activity.active_customers, 0) as {{ dbt.type_bigint() }}) as active_customers,
        cast(coalesce(activity.active_customers, 0) as {{ clv_type_double() }}) / cohort_grid.cohort_customers as retention_rate,
        coalesce(activity.revenue, 0) as revenue,
        sum(coalesce(activity.revenue, 0)) over (
            partition by cohort_grid.cohort_month
            order by cohort_grid.months_since_first_purchase
            rows between unbounded preceding and current row
        ) / cohort_grid.cohort_customers as cumulative_revenue_per_customer
    from cohort_grid
    left join activity
        on
            cohort_grid.cohort_month = activity.cohort_month
            and cohort_grid.months_since_first_purchase = activity.months_since_first_purchase

)

select * from final
