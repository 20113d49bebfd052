-- Grain: segment_dimension x segment_value. The heuristic CLV of docs/definitions.md, "Segment CLV", with CAC and CAC < LTV.
{%- set margin_method = clv_var('margin_method') %}

with

segments as (

    select * from {{ ref('int_segments_windowed') }}

),

parameters as (

    select * from {{ ref('int_parameters') }}

),

predictions as (

    -- the predictive branch, joined where it is published (empty with enable_predictive false)
    select * from {{ ref('int_segments_forecasted') }}

),

inventory_periods as (

    select * from {{ ref('int_inventory_periods_priced') }}

),

inventory_margin as (

    -- the inventory method's rate over the periods that end inside the observation window
    select
        (sum(inventory_periods.revenue) - sum(inventory_periods.cogs_inventory))
        / nullif(sum(inventory_periods.revenue), 0) as gross_margin
    from inventory_periods
    cross join parameters
    where
        inventory_periods.period_end > parameters.window_start_date
        and inventory_periods.period_end <= parameters.as_of_date

),

measured as (

    select
        segments.*,
        parameters.as_of_date,
        parameters.window_years,
        segments.revenue / nullif(segments.orders, 0) as aov,
        cast(segments.orders as {{ clv_type_double() }})
        / nullif(segments.active_customers, 0)
        / parameters.window_years as purchase_frequency,
        {%- if margin_method == 'items' %}
            (segments.revenue - segments.cogs) / nullif(segments.revenue, 0) as gross_margin,
        {%- elif margin_method == 'inventory' %}
            coalesce(inventory_margin.gross_margin, parameters.default_gross_margin) as gross_margin,
        {%- else %}
            parameters.default_gross_margin as gross_margin,
        {%- endif %}
        power(
            cast(segments.retained_customers as {{ clv_type_double() }}) / nullif(segments.prior_window_customers, 0),
            1 / parameters.window_years
        ) as segment_retention_rate
    from segments
    cross join parameters
    cross join inventory_margin

),

retention_resolved as (

    select
        measured.*,
        coalesce(measured.segment_retention_rate, whole_business.segment_retention_rate) as retention_rate,
        measured.segment_retention_rate is null and whole_business.segment_retention_rate is not null as is_retention_imputed
    from measured
    left join measured as whole_business
        on whole_business.segment_dimension = 'all'

),

lifetime as (

    select
        retention_resolved.*,
        1 - retention_resolved.retention_rate as churn_rate,
        case
            when retention_resolved.retention_rate is null then null
            when retention_resolved.retention_rate = 1 then parameters.max_lifetime_years
            -- least() skips nulls on some engines: the null case is handled above
            else least(1 / (1 - retention_resolved.retention_rate), parameters.max_lifetime_years)
        end as expected_lifetime_years,
        coalesce(
            retention_resolved.retention_rate = 1
            or 1 / (1 - retention_resolved.retention_rate) > parameters.max_lifetime_years,
            false
        ) as is_lifetime_capped,
        retention_resolved.aov * retention_resolved.purchase_frequency * retention_resolved.gross_margin as annual_margin
    from retention_resolved
    cross join parameters

),

horizon_years as (

    -- the years t = 1 .. clv_horizon_years of the discounted CLV (the var accepts at most this many)
    select series.n + 1 as year_number
    from ({{ clv_integer_series(clv_horizon_years_max()) }}) as series
    cross join parameters
    where series.n < parameters.clv_horizon_years

),

discounted as (

    -- clv_discounted = sum over t of annual_margin x retention_rate^(t-1) / (1 + discount_rate)^t
    select
        lifetime.segment_dimension,
        lifetime.segment_value,
        sum(
            lifetime.annual_margin * power(lifetime.retention_rate, horizon_years.year_number - 1)
            / power(1 + parameters.discount_rate, horizon_years.year_number)
        ) as clv_discounted
    from lifetime
    cross join horizon_years
    cross join parameters
    group by lifetime.segment_dimension, lifetime.segment_value

),

valued as (

    select
        lifetime.*,
        lifetime.aov * lifetime.purchase_frequency * lifetime.expected_lifetime_years as clv_revenue,
        lifetime.annual_margin * lifetime.expected_lifetime_years as clv_margin,
        discounted.clv_discounted,
        lifetime.acquisition_spend / nullif(lifetime.new_customers, 0) as cac
    from lifetime
    inner join discounted
        on
            lifetime.segment_dimension = discounted.segment_dimension
            and lifetime.segment_value = discounted.segment_value

),

heuristic as (

    select
        segment_dimension,
        segment_value,
        as_of_date,
        customers,
        active_customers,
        orders,
        revenue,
        cogs,
        aov,
        purchase_frequency,
        gross_margin,
        prior_window_customers,
        retained_customers,
        retention_rate,
        is_retention_imputed,
        churn_rate,
        expected_lifetime_years,
        is_lifetime_capped,
        annual_margin,
        clv_revenue,
        clv_margin,
        clv_discounted,
        new_customers,
        acquisition_spend,
        cac,
        clv_discounted / nullif(cac, 0) as ltv_to_cac_ratio,
        cac < clv_discounted as is_cac_below_ltv,
        clv_discounted - cac as clv_net_of_cac,
        cac / nullif(annual_margin / 12, 0) as cac_payback_months,
        {{ clv_ltv_cac_health('clv_discounted', 'cac') }} as ltv_cac_health
    from valued

),

final as (

    select
        heuristic.*,
        predictions.predicted_clv_per_customer,
        predictions.predicted_clv_per_customer_lower_90,
        predictions.predicted_clv_per_customer_upper_90,
        predictions.predicted_clv_total,
        predictions.predicted_ltv_per_new_customer,
        predictions.predicted_ltv_per_new_customer_lower_90,
        predictions.predicted_ltv_per_new_customer_upper_90,
        predictions.predicted_ltv_per_new_customer / nullif(heuristic.cac, 0) as predicted_ltv_to_cac_ratio,
        {{ clv_ltv_cac_health('predictions.predicted_ltv_per_new_customer', 'heuristic.cac') }}
            as predicted_ltv_cac_health
    from heuristic
    left join predictions
        on
            heuristic.segment_dimension = predictions.segment_dimension
            and heuristic.segment_value = predictions.segment_value

)

select * from final
