-- Grain: fit x customer_id. The BG/NBD and Gamma-Gamma inputs (docs/definitions.md, "Predictive CLV") at two cut-offs:
-- fit = 'full' (as_of) and fit = 'calibration' (as_of - holdout_months), with what happened in the holdout.
-- Incremental per customer (macros/customer_incremental.sql, docs/decisions.md #44): a run recomputes the
-- customers whose purchases were rewritten since its last run, all of them when int_parameters' settings changed.
{{
    config(
        materialized=clv_incremental_materialization(),
        incremental_strategy='append',
        on_schema_change='sync_all_columns',
        pre_hook=[
            "{{ clv_drop_changed_customers() }}",
            "{{ clv_collect_changed_customers(clv_changed_sequenced_customers(ref('int_purchases_sequenced'))) }}",
            "{{ clv_remove_changed_customers(ref('int_parameters')) }}",
        ],
        post_hook="{{ clv_drop_changed_customers() }}"
    )
}}

with

purchases as (

    select * from {{ ref('int_purchases_sequenced') }}
    where {{ clv_is_changed_customer('customer_id') }}

),

parameters as (

    select * from {{ ref('int_parameters') }}

),

occasions as (

    -- purchase occasions: distinct purchase days per customer, same-day purchases summed; a fit's
    -- first occasion is the customer's first purchase day whatever the cut-off (later days are cut)
    select
        customer_id,
        order_date,
        order_date = first_purchase_date as is_first_occasion,
        sum(net_revenue) as revenue,
        -- the Gamma-Gamma input in exact decimal arithmetic: a float sum depends on the order the engine
        -- adds in, and a weakly identified fit turns its last bits into visible parameter differences
        sum(cast(net_revenue as {{ clv_type_exact_amount() }})) as exact_revenue,
        sum(gross_profit) as gross_profit
    from purchases
    group by customer_id, order_date, first_purchase_date

),

cutoffs as (

    -- each fit's cut-off and the start of its observation window (the window before the cut-off)
    select
        'full' as fit,
        as_of_date as cutoff_date,
        window_start_date
    from parameters
    union all
    select
        'calibration' as fit,
        holdout_start_date as cutoff_date,
        calibration_window_start_date as window_start_date
    from parameters

),

fit_occasions as (

    select
        cutoffs.fit,
        cutoffs.cutoff_date,
        occasions.customer_id,
        occasions.order_date,
        occasions.revenue,
        occasions.exact_revenue,
        occasions.gross_profit,
        occasions.is_first_occasion,
        occasions.order_date > cutoffs.window_start_date as is_in_window
    from occasions
    cross join cutoffs
    where occasions.order_date <= cutoffs.cutoff_date

),

customer_fits as (

    select
        fit,
        customer_id,
        cutoff_date,
        count(*) as occasions,
        min(order_date) as first_purchase_date,
        max(order_date) as last_purchase_date,
        sum(case when not is_first_occasion then exact_revenue end) as repeat_revenue,
        sum(revenue) as revenue,
        sum(gross_profit) as gross_profit,
        sum(case when is_in_window then 1 else 0 end) as window_occasions,
        sum(case when is_in_window then revenue else 0 end) as window_revenue
    from fit_occasions
    group by fit, customer_id, cutoff_date

),

holdout as (

    select
        occasions.customer_id,
        count(*) as holdout_occasions,
        sum(occasions.revenue) as holdout_revenue
    from occasions
    cross join parameters
    where occasions.order_date > parameters.holdout_start_date
    group by occasions.customer_id

),

final as (

    select
        customer_fits.fit,
        customer_fits.customer_id,
        customer_fits.cutoff_date,
        cast(customer_fits.occasions - 1 as {{ dbt.type_bigint() }}) as frequency,
        {{ clv_days_between('customer_fits.first_purchase_date', 'customer_fits.last_purchase_date') }}
        / parameters.time_unit_days as recency,
        {{ clv_days_between('customer_fits.first_purchase_date', 'customer_fits.cutoff_date') }}
        / parameters.time_unit_days as customer_age,
        -- rounded to 1e-9 so that float summation order (parallel sums) does not change the fit's input
        {{ clv_round('cast(customer_fits.repeat_revenue as ' ~ clv_type_double() ~ ') / nullif(customer_fits.occasions - 1, 0)', 9) }}
            as monetary_value,
        customer_fits.gross_profit / nullif(customer_fits.revenue, 0) as gross_margin,
        cast(customer_fits.window_occasions as {{ dbt.type_bigint() }}) as window_occasions,
        customer_fits.window_revenue,
        cast(case when customer_fits.fit = 'calibration' then coalesce(holdout.holdout_occasions, 0) end as {{ dbt.type_bigint() }})
            as holdout_occasions,
        case when customer_fits.fit = 'calibration' then coalesce(holdout.holdout_revenue, 0) end as holdout_revenue,
        parameters.parameters_signature,
        {{ clv_processed_at() }} as dbt_processed_at
    from customer_fits
    cross join parameters
    left join holdout
        on customer_fits.customer_id = holdout.customer_id

)

select * from final
