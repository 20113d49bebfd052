-- The engine's clean floor: the `all` and `acquisition_channel` rows of segment_clv (every column but the
-- BG/NBD predictions) in one DuckDB query from the raw Parquet folders, as a careful analyst would write it
-- for data they trust: each column cast once to its type as it is read, the FX rate and the product cost
-- as of the order date (ASOF joins), refunds netted at the order's rate, COGS at cost-on-date (the default
-- margin for orders with a line without a cost), the 12-month window and the prior window, retention, CAC
-- and the discounted CLV with the default vars. No duplicate or conflicting-key handling, no per-row
-- quarantine bookkeeping: unlike bench/segment_clv_handwritten.sql (the same rules as the project) its
-- result differs from the mart on data with bad rows (the scale data has some of every kind), by as much
-- as those rows weigh. bench/scale_benchmark.py fills {raw} (the folder) and {cutoff} (the run date).
with

fx as (
    select
        upper(currency) as currency,
        cast(try_cast(rate_date as timestamptz) as date) as rate_date,
        try_cast(rate_to_reporting as double) as rate
    from read_parquet('{raw}/fx_rates/*.parquet', union_by_name = true)
),

orders as (
    select
        order_id,
        customer_id,
        cast(try_cast(ordered_at as timestamptz) as date) as order_date,
        try_cast(order_total as double) as order_total,
        coalesce(lower(status), 'completed') as status,
        coalesce(upper(currency), 'USD') as currency
    from read_parquet('{raw}/orders/*.parquet', union_by_name = true)
),

orders_priced as (
    select orders.*, case when orders.currency = 'USD' then 1.0 else fx.rate end as fx_rate
    from orders
    asof left join fx on orders.currency = fx.currency and orders.order_date >= fx.rate_date
    where orders.order_date <= date '{cutoff}' and orders.order_total >= 0
),

costs as (
    select
        product_id,
        cast(try_cast(valid_from as timestamptz) as date) as valid_from,
        try_cast(unit_cost as double) as unit_cost
    from read_parquet('{raw}/product_costs/*.parquet', union_by_name = true)
),

items as (
    select
        items.order_id,
        items.product_id,
        try_cast(items.quantity as double) as quantity,
        orders_priced.order_date
    from read_parquet('{raw}/order_items/*.parquet', union_by_name = true) as items
    inner join orders_priced on items.order_id = orders_priced.order_id
),

order_costs as (
    select
        items.order_id,
        count(*) filter (where costs.unit_cost is null) as lines_without_cost,
        sum(items.quantity * costs.unit_cost) as items_cogs
    from items
    asof left join costs on items.product_id = costs.product_id and items.order_date >= costs.valid_from
    group by items.order_id
),

order_refunds as (
    select order_id, sum(try_cast(amount as double)) as refunded
    from read_parquet('{raw}/refunds/*.parquet', union_by_name = true)
    group by order_id
),

purchases_all as (
    select
        orders_priced.customer_id,
        orders_priced.order_date,
        (orders_priced.order_total - coalesce(order_refunds.refunded, 0)) * orders_priced.fx_rate as net_revenue,
        case
            when order_costs.order_id is null or order_costs.lines_without_cost > 0
                then (orders_priced.order_total - coalesce(order_refunds.refunded, 0)) * orders_priced.fx_rate * (1 - 0.4)
            else order_costs.items_cogs
        end as cogs
    from orders_priced
    left join order_costs on orders_priced.order_id = order_costs.order_id
    left join order_refunds on orders_priced.order_id = order_refunds.order_id
    where orders_priced.status != 'cancelled' and orders_priced.fx_rate is not null
),

parameters as (
    select
        as_of,
        cast(as_of - interval 12 month as date) as window_start,
        cast(as_of - interval 24 month as date) as prior_start
    from (select max(order_date) as as_of from orders_priced where fx_rate is not null)
),

purchases as (
    select purchases_all.*
    from purchases_all, parameters
    where purchases_all.net_revenue > 0 and purchases_all.order_date <= parameters.as_of
),

customers as (
    select customer_id, coalesce(lower(acquisition_channel), 'unknown') as channel
    from read_parquet('{raw}/customers/*.parquet', union_by_name = true)
),

buyers as (
    select
        purchases.customer_id,
        count(*) filter (where purchases.order_date > parameters.window_start) as window_orders,
        coalesce(sum(purchases.net_revenue) filter (where purchases.order_date > parameters.window_start), 0) as window_revenue,
        coalesce(sum(purchases.cogs) filter (where purchases.order_date > parameters.window_start), 0) as window_cogs,
        bool_or(purchases.order_date > parameters.window_start) as active,
        bool_or(purchases.order_date > parameters.prior_start and purchases.order_date <= parameters.window_start) as active_prior,
        min(purchases.order_date) > parameters.window_start as is_new
    from purchases, parameters
    group by purchases.customer_id, parameters.window_start
),

segments as (
    select
        case when grouping(channel) = 0 then 'acquisition_channel' else 'all' end as segment_dimension,
        coalesce(channel, 'all') as segment_value,
        count(*) as customers,
        count(*) filter (where active) as active_customers,
        sum(window_orders) as orders,
        sum(window_revenue) as revenue,
        sum(window_cogs) as cogs,
        count(*) filter (where active_prior) as prior_window_customers,
        count(*) filter (where active_prior and active) as retained_customers,
        count(*) filter (where is_new) as new_customers
    from (
        select buyers.*, coalesce(customers.channel, 'unknown') as channel
        from buyers
        left join customers on buyers.customer_id = customers.customer_id
    )
    group by grouping sets ((), (channel))
),

spend as (
    select
        lower(spend.channel) as channel,
        try_cast(spend.amount as double) * case when coalesce(upper(spend.currency), 'USD') = 'USD' then 1.0 else fx.rate end as amount
    from (
        select *, cast(try_cast(spend_date as timestamptz) as date) as spend_day
        from read_parquet('{raw}/marketing_spend/*.parquet', union_by_name = true)
    ) as spend
    asof left join fx on coalesce(upper(spend.currency), 'USD') = fx.currency and spend.spend_day >= fx.rate_date
    cross join parameters
    where spend.spend_day > parameters.window_start and spend.spend_day <= parameters.as_of
),

measured as (
    select
        segments.*,
        parameters.as_of as as_of_date,
        segments.revenue / nullif(segments.orders, 0) as aov,
        segments.orders / nullif(segments.active_customers, 0) as purchase_frequency,
        (segments.revenue - segments.cogs) / nullif(segments.revenue, 0) as gross_margin,
        segments.retained_customers / nullif(segments.prior_window_customers, 0) as retention_rate,
        case
            when segments.segment_dimension = 'all' then (select sum(amount) from spend)
            when segments.segment_value != 'unknown'
                then coalesce((select sum(amount) from spend where spend.channel = segments.segment_value), 0)
        end as acquisition_spend
    from segments, parameters
),

valued as (
    select
        *,
        aov * purchase_frequency * gross_margin as annual_margin,
        least(1 / nullif(1 - retention_rate, 0), 10) as expected_lifetime_years,
        acquisition_spend / nullif(new_customers, 0) as cac,
        (
            select sum(aov * purchase_frequency * gross_margin * power(retention_rate, y - 1) / power(1.1, y))
            from range(1, 11) as years (y)
        ) as clv_discounted
    from measured
)

select
    segment_dimension, segment_value, as_of_date, customers, active_customers, orders, revenue, cogs, aov,
    purchase_frequency, gross_margin, prior_window_customers, retained_customers, retention_rate,
    1 - retention_rate as churn_rate, coalesce(expected_lifetime_years, 10) as expected_lifetime_years,
    annual_margin, aov * purchase_frequency * coalesce(expected_lifetime_years, 10) as clv_revenue,
    annual_margin * coalesce(expected_lifetime_years, 10) as clv_margin, clv_discounted, new_customers,
    acquisition_spend, cac, clv_discounted / nullif(cac, 0) as ltv_to_cac_ratio,
    cac < clv_discounted as is_cac_below_ltv, clv_discounted - cac as clv_net_of_cac
from valued
order by segment_dimension, segment_value
