-- Grain: customer_id (every customer with a purchase on or before as_of). Historical CLV, RFM, value tier, overdue flag.
with

customers as (

    select * from {{ ref('int_customers_scored') }}

),

parameters as (

    select * from {{ ref('int_parameters') }}

),

final as (

    select
        customers.customer_id,
        parameters.as_of_date,
        customers.acquisition_channel,
        customers.country,
        customers.cohort_year,
        customers.cohort_month,
        customers.first_purchase_date,
        customers.last_purchase_date,
        customers.purchases,
        customers.revenue,
        customers.cogs,
        customers.gross_profit,
        customers.revenue / customers.purchases as aov,
        customers.tenure_days,
        customers.recency_days,
        customers.avg_days_between_purchases,
        customers.r_score,
        customers.f_score,
        customers.m_score,
        customers.rfm_cell,
        customers.rfm_segment,
        customers.revenue_rank,
        customers.value_tier,
        customers.overdue_threshold_days,
        customers.is_overdue
    from customers
    cross join parameters

)

select * from final
