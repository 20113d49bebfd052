-- Grain: model x metric. Holdout backtest (docs/definitions.md, "Predictive CLV"): both models are calibrated on purchases up to
-- as_of - holdout_months and predict the holdout; the actuals are what the calibration customers did in it.
with

inputs as (

    select * from {{ ref('int_customers_bgnbd_inputs') }}
    where fit = 'calibration'

),

predictions as (

    select * from {{ ref('int_customers_predicted') }}
    where fit = 'calibration'

),

parameters as (

    select * from {{ ref('int_parameters') }}

),

heuristic_rates as (

    -- the segment_clv heuristic of the whole business at the calibration cut-off, on purchase occasions:
    -- an active customer keeps buying at the window's frequency and AOV; an inactive one is churned
    select
        sum(inputs.window_revenue) / nullif(sum(inputs.window_occasions), 0) as aov,
        cast(sum(inputs.window_occasions) as {{ clv_type_double() }})
        / nullif(sum(case when inputs.window_occasions > 0 then 1 else 0 end), 0)
        / parameters.window_years as purchase_frequency,
        cast({{ clv_days_between('parameters.holdout_start_date', 'parameters.as_of_date') }} as {{ clv_type_double() }})
        / 365.25 as holdout_years
    from inputs
    cross join parameters
    group by parameters.window_years, parameters.holdout_start_date, parameters.as_of_date

),

customer_predictions as (

    select
        'bg_nbd_gamma_gamma' as model,
        inputs.customer_id,
        predictions.expected_purchases_holdout as predicted_purchases,
        predictions.predicted_holdout_revenue as predicted_revenue,
        inputs.holdout_occasions as actual_purchases,
        inputs.holdout_revenue as actual_revenue
    from inputs
    left join predictions
        on inputs.customer_id = predictions.customer_id
    union all
    select
        'heuristic' as model,
        inputs.customer_id,
        case when inputs.window_occasions > 0 then heuristic_rates.purchase_frequency * heuristic_rates.holdout_years else 0 end
            as predicted_purchases,
        case
            when inputs.window_occasions > 0
                then heuristic_rates.purchase_frequency * heuristic_rates.holdout_years * heuristic_rates.aov
            else 0
        end as predicted_revenue,
        inputs.holdout_occasions as actual_purchases,
        inputs.holdout_revenue as actual_revenue
    from inputs
    cross join heuristic_rates

),

model_totals as (

    select
        model,
        count(*) as customers,
        count(predicted_purchases) as customers_predicted,
        sum(predicted_purchases) as predicted_purchases,
        sum(actual_purchases) as actual_purchases,
        sum(predicted_revenue) as predicted_revenue,
        sum(actual_revenue) as actual_revenue,
        avg(abs(predicted_purchases - actual_purchases)) as purchases_mae,
        avg(abs(predicted_revenue - actual_revenue)) as revenue_mae,
        sum(predicted_purchases) / nullif(sum(actual_purchases), 0) - 1 as purchases_relative_error,
        sum(predicted_revenue) / nullif(sum(actual_revenue), 0) - 1 as revenue_relative_error
    from customer_predictions
    group by model

),

metrics as (

    {%- set metrics = [
        'predicted_purchases', 'actual_purchases', 'purchases_relative_error', 'purchases_mae',
        'predicted_revenue', 'actual_revenue', 'revenue_relative_error', 'revenue_mae',
    ] %}
    {%- for metric in metrics %}
        select
            model,
            '{{ metric }}' as metric,
            {%- if metric.startswith('actual') %}
                cast({{ metric }} as {{ clv_type_double() }}) as value,
            {%- else %}
                cast(case when customers_predicted = customers then {{ metric }} end as {{ clv_type_double() }}) as value,
            {%- endif %}
            customers
        from model_totals
        {{ 'union all' if not loop.last }}
    {%- endfor %}

),

final as (

    select
        metrics.model,
        metrics.metric,
        metrics.value,
        cast(metrics.customers as {{ dbt.type_bigint() }}) as customers,
        parameters.holdout_start_date,
        parameters.as_of_date
    from metrics
    cross join parameters

)

select * from final
