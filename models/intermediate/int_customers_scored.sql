-- Customer scores (docs/definitions.md, "Customer-level CLV"): RFM quintiles and label, value tier, overdue flag.
{%- set score_texts = [] %}
{%- for score in ['r_score', 'f_score', 'm_score'] %}
    {%- do score_texts.append(dbt.cast(score, dbt.type_string())) %}
{%- endfor %}
with

customers as (

    select * from {{ ref('int_customers_summarised') }}

),

customer_sort_keys as (

    -- only what the rankings sort on, read on its own: a window sorts every column it carries, and
    -- a second read of the customers CTE would let the engine run the windows on all its columns
    select
        customer_id,
        recency_days,
        purchases,
        revenue
    from {{ ref('int_customers_summarised') }}

),

purchases as (

    select * from {{ ref('int_purchases_sequenced') }}

),

parameters as (

    select * from {{ ref('int_parameters') }}

),

overall_gap as (

    -- the median of all gaps between a customer's consecutive purchases: the pattern of one-purchase customers
    select
        {{ clv_median(clv_days_between('previous_purchase_date', 'order_date')) }} as median_gap_days
    from purchases
    where previous_purchase_date is not null

),

ranks as (

    -- the four orderings on the sort keys alone, joined back to the customers below
    select
        customer_id,
        ntile(5) over (order by recency_days desc, customer_id asc) as r_score,
        ntile(5) over (order by purchases, customer_id) as f_score,
        ntile(5) over (order by {{ clv_round('revenue', 6) }}, customer_id) as m_score,
        row_number() over (order by {{ clv_round('revenue', 6) }} desc, customer_id) as revenue_rank,
        count(*) over () as customer_count
    from customer_sort_keys

),

ranked as (

    select
        customers.*,
        ranks.r_score,
        ranks.f_score,
        ranks.m_score,
        ranks.revenue_rank,
        ranks.customer_count,
        parameters.overdue_factor
        * coalesce(customers.avg_days_between_purchases, overall_gap.median_gap_days) as overdue_threshold_days
    from customers
    inner join ranks
        on customers.customer_id = ranks.customer_id
    cross join overall_gap
    cross join parameters

),

final as (

    select
        *,
        {{ dbt.concat(score_texts) }} as rfm_cell,
        case
            when r_score >= 4 and f_score >= 4 and m_score >= 4 then 'champions'
            when r_score >= 3 and f_score >= 4 then 'loyal'
            when r_score >= 4 and f_score <= 2 then 'new_customers'
            when r_score <= 2 and f_score >= 3 then 'at_risk'
            when r_score <= 2 then 'hibernating'
            else 'potential_loyalists'
        end as rfm_segment,
        case
            when revenue_rank * 100 <= customer_count * 5 then 'vip'
            when revenue_rank * 100 <= customer_count * 20 then 'high'
            when revenue_rank * 100 <= customer_count * 50 then 'medium'
            else 'low'
        end as value_tier,
        case
            when overdue_threshold_days is not null then recency_days > overdue_threshold_days
        end as is_overdue
    from ranked

)

select * from final
