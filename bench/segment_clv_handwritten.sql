-- The engine's floor: segment_clv (every column but the BG/NBD predictions) in one hand-written DuckDB
-- query, straight from the raw Parquet folders of scripts/generate_scale_data.py, with the same
-- cleaning rules as the project (duplicates collapsed, conflicting keys dropped, bad values dropped,
-- FX and costs as of the order date) and the default vars. It uses what DuckDB offers that the
-- project does not (ASOF joins, group-by dedup instead of window functions, no quarantine kept).
-- bench/scale_benchmark.py fills {raw} (the folder) and {cutoff} (the future_date cutoff).
with

raw_orders as (
    select distinct
        nullif(trim(order_id), '') as order_id,
        nullif(trim(customer_id), '') as customer_id,
        nullif(trim(ordered_at), '') as ordered_at,
        nullif(trim(order_total), '') as order_total,
        nullif(trim(status), '') as status,
        nullif(trim(currency), '') as currency
    from read_parquet('{raw}/orders/*.parquet', union_by_name = true)
),

raw_items as (
    select distinct
        nullif(trim(order_id), '') as order_id,
        nullif(trim(product_id), '') as product_id,
        nullif(trim(quantity), '') as quantity,
        nullif(trim(unit_price), '') as unit_price
    from read_parquet('{raw}/order_items/*.parquet', union_by_name = true)
),

raw_refunds as (
    select distinct
        nullif(trim(refund_id), '') as refund_id,
        nullif(trim(order_id), '') as order_id,
        nullif(trim(refunded_at), '') as refunded_at,
        nullif(trim(amount), '') as amount
    from read_parquet('{raw}/refunds/*.parquet', union_by_name = true)
),

raw_customers as (
    select distinct
        nullif(trim(customer_id), '') as customer_id,
        nullif(trim(created_at), '') as created_at,
        nullif(trim(email), '') as email,
        nullif(trim(country), '') as country,
        nullif(trim(acquisition_channel), '') as acquisition_channel
    from read_parquet('{raw}/customers/*.parquet', union_by_name = true)
),

raw_costs as (
    select distinct
        nullif(trim(product_id), '') as product_id,
        nullif(trim(valid_from), '') as valid_from,
        nullif(trim(unit_cost), '') as unit_cost
    from read_parquet('{raw}/product_costs/*.parquet', union_by_name = true)
),

raw_fx as (
    select distinct
        nullif(trim(rate_date), '') as rate_date,
        nullif(trim(currency), '') as currency,
        nullif(trim(rate_to_reporting), '') as rate_to_reporting
    from read_parquet('{raw}/fx_rates/*.parquet', union_by_name = true)
),

raw_spend as (
    select distinct
        nullif(trim(spend_date), '') as spend_date,
        nullif(trim(channel), '') as channel,
        nullif(trim(amount), '') as amount,
        nullif(trim(currency), '') as currency
    from read_parquet('{raw}/marketing_spend/*.parquet', union_by_name = true)
),

fx as (
    select
        upper(currency) as currency,
        cast(timezone('UTC', try_cast(rate_date as timestamptz)) as date) as rate_date,
        case when rate_to_reporting ~ '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$' then cast(rate_to_reporting as double) end as rate
    from raw_fx
    -- a (rate_date, currency) key with two different rows is dropped
    qualify count(*) over (partition by raw_fx.rate_date, raw_fx.currency) = 1
),

fx_clean as (
    select * from fx
    where currency is not null and rate_date is not null and rate > 0 and rate_date <= date '{cutoff}'
),

orders_typed as (
    select
        order_id,
        customer_id,
        cast(timezone('UTC', try_cast(ordered_at as timestamptz)) as timestamp) as ordered_at,
        case when order_total ~ '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$' then cast(order_total as double) end as order_total,
        coalesce(lower(status), 'completed') as status,
        coalesce(upper(currency), 'USD') as currency
    from raw_orders
    where order_id is not null
    qualify count(*) over (partition by order_id) = 1
),

orders_checked as (
    select *, cast(ordered_at as date) as order_date
    from orders_typed
    where
        customer_id is not null and ordered_at is not null and order_total >= 0
        and status in ('placed', 'shipped', 'completed', 'returned', 'cancelled')
        and cast(ordered_at as date) <= date '{cutoff}'
),

orders as (
    select orders_checked.*, case when orders_checked.currency = 'USD' then 1.0 else fx_clean.rate end as fx_rate
    from orders_checked
    asof left join fx_clean
        on orders_checked.currency = fx_clean.currency and orders_checked.order_date >= fx_clean.rate_date
),

clean_orders as (
    select * from orders where fx_rate is not null
),

costs as (
    select
        product_id,
        cast(timezone('UTC', try_cast(valid_from as timestamptz)) as date) as valid_from,
        case when unit_cost ~ '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$' then cast(unit_cost as double) end as unit_cost
    from raw_costs
    qualify count(*) over (partition by raw_costs.product_id, raw_costs.valid_from) = 1 or raw_costs.product_id is null or raw_costs.valid_from is null
),

clean_costs as (
    select * from costs where product_id is not null and valid_from is not null and unit_cost >= 0
),

items as (
    select
        raw_items.order_id,
        raw_items.product_id,
        case when quantity ~ '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$' then cast(quantity as double) end as quantity,
        case when unit_price ~ '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$' then cast(unit_price as double) end as price,
        raw_items.unit_price is not null as has_price,
        clean_orders.order_date
    from raw_items
    inner join clean_orders on raw_items.order_id = clean_orders.order_id
    where raw_items.product_id is not null
),

clean_items as (
    select * from items
    where quantity > 0 and (not has_price or price >= 0)
),

order_costs as (
    select
        clean_items.order_id,
        count(*) as item_lines,
        count(*) filter (where clean_costs.unit_cost is null) as lines_without_cost,
        sum(clean_items.quantity * clean_costs.unit_cost) as items_cogs
    from clean_items
    asof left join clean_costs
        on clean_items.product_id = clean_costs.product_id and clean_items.order_date >= clean_costs.valid_from
    group by clean_items.order_id
),

refunds as (
    select
        raw_refunds.order_id,
        cast(timezone('UTC', try_cast(refunded_at as timestamptz)) as timestamp) as refunded_at,
        raw_refunds.refunded_at is not null as has_refunded_at,
        case when amount ~ '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$' then cast(amount as double) end as amount
    from raw_refunds
    where raw_refunds.refund_id is not null
    qualify count(*) over (partition by raw_refunds.refund_id) = 1
),

order_refunds as (
    select refunds.order_id, sum(refunds.amount) as refunded
    from refunds
    semi join clean_orders on refunds.order_id = clean_orders.order_id
    where
        (not has_refunded_at or refunded_at is not null) and amount >= 0
        and (refunded_at is null or cast(refunded_at as date) <= date '{cutoff}')
    group by refunds.order_id
),

priced as (
    select
        clean_orders.customer_id,
        clean_orders.order_date,
        clean_orders.status,
        clean_orders.order_total * clean_orders.fx_rate - coalesce(order_refunds.refunded, 0) * clean_orders.fx_rate as net_revenue,
        coalesce(order_costs.item_lines, 0) = 0 or order_costs.lines_without_cost > 0 as is_estimated,
        order_costs.items_cogs
    from clean_orders
    left join order_costs on clean_orders.order_id = order_costs.order_id
    left join order_refunds on clean_orders.order_id = order_refunds.order_id
),

parameters as (
    select
        as_of,
        cast(as_of - interval 12 month as date) as window_start,
        cast(as_of - interval 24 month as date) as prior_start
    from (select max(order_date) as as_of from clean_orders)
),

purchases as (
    select
        priced.customer_id,
        priced.order_date,
        priced.net_revenue,
        case when priced.is_estimated then priced.net_revenue * (1 - 0.4) else priced.items_cogs end as cogs,
        priced.order_date > parameters.window_start as in_window,
        priced.order_date > parameters.prior_start and priced.order_date <= parameters.window_start as in_prior
    from priced, parameters
    where priced.status != 'cancelled' and priced.net_revenue > 0 and priced.order_date <= parameters.as_of
),

customer_rows as (
    select
        customer_id,
        upper(country) as country,
        lower(acquisition_channel) as channel,
        created_at is null or cast(timezone('UTC', try_cast(created_at as timestamptz)) as date) <= date '{cutoff}' as ok
    from raw_customers
    where customer_id is not null
    qualify count(*) over (partition by customer_id) = 1
),

clean_customers as (
    select customer_id, coalesce(country, 'unknown') as country, coalesce(channel, 'unknown') as channel
    from customer_rows
    where ok
),

buyers as (
    select
        purchases.customer_id,
        count(*) filter (where in_window) as window_orders,
        coalesce(sum(net_revenue) filter (where in_window), 0) as window_revenue,
        coalesce(sum(cogs) filter (where in_window), 0) as window_cogs,
        bool_or(in_window) as active,
        bool_or(in_prior) as active_prior,
        min(order_date) as first_purchase
    from purchases
    group by purchases.customer_id
),

segmented as (
    select
        buyers.*,
        coalesce(clean_customers.channel, 'unknown') as channel,
        coalesce(clean_customers.country, 'unknown') as country,
        cast(year(buyers.first_purchase) as varchar) as cohort_year,
        buyers.first_purchase > parameters.window_start as is_new
    from buyers
    cross join parameters
    left join clean_customers on buyers.customer_id = clean_customers.customer_id
),

segments as (
    select
        coalesce(
            case when grouping(channel) = 0 then 'acquisition_channel' when grouping(country) = 0 then 'country'
                 when grouping(cohort_year) = 0 then 'cohort_year' end, 'all') as segment_dimension,
        coalesce(channel, country, cohort_year, 'all') as segment_value,
        count(*) as customers,
        count(*) filter (where active) as active_customers,
        sum(window_orders) as orders,
        sum(window_revenue) as revenue,
        sum(window_cogs) as cogs,
        count(*) filter (where active_prior) as prior_window_customers,
        count(*) filter (where active_prior and active) as retained_customers,
        count(*) filter (where is_new) as new_customers
    from segmented
    group by grouping sets ((), (channel), (country), (cohort_year))
),

spend as (
    select
        lower(raw_spend.channel) as channel,
        cast(timezone('UTC', try_cast(raw_spend.spend_date as timestamptz)) as date) as spend_date,
        case when raw_spend.amount ~ '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$' then cast(raw_spend.amount as double) end as amount,
        coalesce(upper(raw_spend.currency), 'USD') as currency
    from raw_spend
),

spend_priced as (
    select spend.*, case when spend.currency = 'USD' then 1.0 else fx_clean.rate end as fx_rate
    from spend
    asof left join fx_clean on spend.currency = fx_clean.currency and spend.spend_date >= fx_clean.rate_date
),

clean_spend as (
    select * from spend_priced
    where channel is not null and spend_date is not null and amount >= 0 and fx_rate is not null and spend_date <= date '{cutoff}'
),

window_spend as (
    select clean_spend.channel, sum(clean_spend.amount * clean_spend.fx_rate) as spend
    from clean_spend, parameters
    where clean_spend.spend_date > parameters.window_start and clean_spend.spend_date <= parameters.as_of
    group by clean_spend.channel
),

measured as (
    select
        segments.*,
        parameters.as_of as as_of_date,
        segments.revenue / nullif(segments.orders, 0) as aov,
        segments.orders / nullif(segments.active_customers, 0) / 1.0 as purchase_frequency,
        (segments.revenue - segments.cogs) / nullif(segments.revenue, 0) as gross_margin,
        power(segments.retained_customers / nullif(segments.prior_window_customers, 0), 1 / 1.0) as own_retention,
        case
            when (select count(*) from clean_spend) = 0 then null
            when segments.segment_dimension = 'all' then coalesce((select sum(spend) from window_spend), 0)
            when segments.segment_dimension = 'acquisition_channel' and segments.segment_value = 'unknown' then null
            when segments.segment_dimension = 'acquisition_channel' then coalesce(window_spend.spend, 0)
        end as acquisition_spend
    from segments
    cross join parameters
    left join window_spend
        on segments.segment_dimension = 'acquisition_channel' and segments.segment_value = window_spend.channel
),

lifetimes as (
    select
        measured.*,
        coalesce(measured.own_retention, whole.own_retention) as retention_rate,
        measured.own_retention is null and whole.own_retention is not null as is_retention_imputed,
        measured.aov * measured.purchase_frequency * measured.gross_margin as annual_margin
    from measured
    left join measured as whole on whole.segment_dimension = 'all'
),

valued as (
    select
        *,
        1 - retention_rate as churn_rate,
        case when retention_rate is null then null when retention_rate = 1 then 10 else least(1 / (1 - retention_rate), 10) end as expected_lifetime_years,
        coalesce(retention_rate = 1 or 1 / (1 - retention_rate) > 10, false) as is_lifetime_capped,
        (select sum(annual_margin * power(retention_rate, y - 1) / power(1.1, y)) from range(1, 11) as years (y)) as clv_discounted,
        acquisition_spend / nullif(new_customers, 0) as cac
    from lifetimes
)

select
    segment_dimension, segment_value, as_of_date, customers, active_customers, orders, revenue, cogs, aov,
    purchase_frequency, gross_margin, prior_window_customers, retained_customers, retention_rate,
    is_retention_imputed, churn_rate, expected_lifetime_years, is_lifetime_capped, annual_margin,
    aov * purchase_frequency * expected_lifetime_years as clv_revenue,
    annual_margin * expected_lifetime_years as clv_margin,
    clv_discounted, new_customers, acquisition_spend, cac,
    clv_discounted / nullif(cac, 0) as ltv_to_cac_ratio,
    cac < clv_discounted as is_cac_below_ltv,
    clv_discounted - cac as clv_net_of_cac,
    cac / nullif(annual_margin / 12, 0) as cac_payback_months,
    case
        when cac is null or clv_discounted is null then 'unknown'
        when clv_discounted >= 3 * cac then 'healthy'
        when clv_discounted >= cac then 'marginal'
        else 'unprofitable'
    end as ltv_cac_health
from valued
