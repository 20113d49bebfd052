-- One row: the dates every metric is measured against and the metric vars (docs/definitions.md,
-- "Configuration"), each resolved and checked once by clv_var() and read from here as a column.
{%- set as_of = clv_var('as_of_date') %}
{%- set window_months = clv_var('observation_window_months') %}

with

orders as (

    select order_date from {{ ref('stg_raw__orders') }}

),

as_of as (

    select
        {%- if as_of is none %}
            {{ clv_period_end('max(order_date)', clv_var('as_of_period')) }} as as_of_date,
        {%- else %}
        {{ clv_date_literal(as_of) }} as as_of_date,
        {%- endif %}
        max(order_date) as latest_order_date
    from orders

),

final as (

    select
        as_of_date,
        latest_order_date,
        {{ clv_period_end('as_of_date', clv_var('history_snapshot_period')) }} = as_of_date as is_history_snapshot,
        {{ clv_add_months('as_of_date', -window_months) }} as window_start_date,
        {{ clv_add_months('as_of_date', -2 * window_months) }} as prior_window_start_date,
        {{ clv_add_months('as_of_date', -clv_var('holdout_months')) }} as holdout_start_date,
        {{ clv_add_months(clv_add_months('as_of_date', -clv_var('holdout_months')), -window_months) }}
            as calibration_window_start_date,
        cast({{ window_months }} as {{ clv_type_double() }}) / 12 as window_years,
        cast({{ clv_var('discount_rate') }} as {{ clv_type_double() }}) as discount_rate,
        {{ clv_var('clv_horizon_years') }} as clv_horizon_years,
        cast({{ clv_var('max_lifetime_years') }} as {{ clv_type_double() }}) as max_lifetime_years,
        cast({{ clv_var('default_gross_margin') }} as {{ clv_type_double() }}) as default_gross_margin,
        cast({{ clv_var('overdue_factor') }} as {{ clv_type_double() }}) as overdue_factor,
        '{{ clv_var('time_unit') }}' as time_unit,
        '{{ clv_var('refit') }}' as refit_policy,
        cast({{ clv_var('refit_growth') }} as {{ clv_type_double() }}) as refit_growth,
        -- what a fit depends on besides the data's dates: a published fit made under other settings is not reused
        '{{ clv_fit_settings() }}' as fit_settings,
        cast({{ 7 if clv_var('time_unit') == 'week' else 1 }} as {{ clv_type_double() }}) as time_unit_days
    from as_of

),

signed as (

    -- the columns the per-customer incremental tables read (not latest_order_date, which moves daily)
    select
        *,
        {{ clv_row_signature(clv_customer_layer_settings()) }} as parameters_signature
    from final

)

select * from signed
