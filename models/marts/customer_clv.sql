-- Grain: customer_id (every customer with a purchase on or before as_of). Historical CLV, RFM, value tier, overdue flag.
with

customers as (

    select * from {{ ref('int_customers_scored') }}

),

parameters as (

    select * from {{ ref('int_parameters') }}

),

predictions as (

    -- the predictive branch, joined where it is published (empty with enable_predictive false)
    select * from {{ ref('int_customers_forecasted') }}

),

final as (

    select
        customers.customer_id,
        parameters.as_of_date,
        customers.acquisition_channel,
        customers.country,
        cast(customers.cohort_year as {{ dbt.type_int() }}) as cohort_year,
        customers.cohort_month,
        customers.first_purchase_date,
        customers.last_purchase_date,
        cast(customers.purchases as {{ dbt.type_bigint() }}) as purchases,
        customers.revenue,
        customers.cogs,
        customers.gross_profit,
        customers.revenue / customers.purchases as aov,
        cast(customers.tenure_days as {{ dbt.type_bigint() }}) as tenure_days,
        cast(customers.recency_days as {{ dbt.type_bigint() }}) as recency_days,
        customers.avg_days_between_purchases,
        cast(customers.r_score as {{ dbt.type_int() }}) as r_score,
        cast(customers.f_score as {{ dbt.type_int() }}) as f_score,
        cast(customers.m_score as {{ dbt.type_int() }}) as m_score,
        customers.rfm_cell,
        customers.rfm_segment,
        cast(customers.revenue_rank as {{ dbt.type_bigint() }}) as revenue_rank,
        customers.value_tier,
        customers.overdue_threshold_days,
        {%- for column in clv_prediction_columns() %}
            predictions.{{ column }},
        {%- endfor %}
        customers.is_overdue
    from customers
    cross join parameters
    left join predictions
        on customers.customer_id = predictions.customer_id

)

select * from final
