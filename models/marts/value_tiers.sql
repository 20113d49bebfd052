-- Grain: value_tier (vip, high, medium, low; always four rows). What share of revenue each tier brings.
with

customers as (

    select * from {{ ref('int_customers_scored') }}

),

tiers as (

    select
        'vip' as value_tier,
        1 as tier_rank
    union all
    select
        'high' as value_tier,
        2 as tier_rank
    union all
    select
        'medium' as value_tier,
        3 as tier_rank
    union all
    select
        'low' as value_tier,
        4 as tier_rank

),

tier_totals as (

    select
        value_tier,
        count(*) as customers,
        sum(revenue) as revenue,
        sum(gross_profit) as gross_profit,
        min(revenue) as min_customer_revenue
    from customers
    group by value_tier

),

business_totals as (

    select
        count(*) as customers,
        sum(revenue) as revenue,
        sum(gross_profit) as gross_profit
    from customers

),

final as (

    select
        tiers.value_tier,
        cast(tiers.tier_rank as {{ dbt.type_int() }}) as tier_rank,
        cast(coalesce(tier_totals.customers, 0) as {{ dbt.type_bigint() }}) as customers,
        coalesce(tier_totals.revenue, 0) as revenue,
        coalesce(tier_totals.gross_profit, 0) as gross_profit,
        cast(coalesce(tier_totals.customers, 0) as {{ clv_type_double() }}) / nullif(business_totals.customers, 0) as share_of_customers,
        coalesce(tier_totals.revenue, 0) / nullif(business_totals.revenue, 0) as share_of_revenue,
        coalesce(tier_totals.gross_profit, 0) / nullif(business_totals.gross_profit, 0) as share_of_gross_profit,
        tier_totals.revenue / nullif(tier_totals.customers, 0) as revenue_per_customer,
        tier_totals.min_customer_revenue
    from tiers
    cross join business_totals
    left join tier_totals
        on tiers.value_tier = tier_totals.value_tier

)

select * from final
