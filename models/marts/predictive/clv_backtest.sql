-- Grain: model x metric. Holdout backtest (docs/definitions.md, "Predictive CLV"): both models are calibrated on purchases up to
-- as_of - holdout_months and predict the holdout; the actuals are what the calibration customers did in it
-- (int_customers_backtested, summed).
with

customer_predictions as (

    select * from {{ ref('int_customers_backtested') }}

),

parameters as (

    select * from {{ ref('int_parameters') }}

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
