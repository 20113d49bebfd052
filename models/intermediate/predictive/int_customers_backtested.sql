-- Grain: model x customer_id. The holdout backtest per calibration customer (docs/definitions.md, "Predictive
-- CLV"): what each model predicts for the holdout (holdout_start_date, as_of_date] from purchases up to the
-- holdout start, beside what the customer did in it: every purchase model with the Gamma-Gamma spend
-- (<purchase model>_gamma_gamma), and the heuristic. clv_backtest sums it, clv_calibration_holdout groups it
-- by calibration frequency.
with

inputs as (

    select * from {{ ref('int_customers_bgnbd_inputs') }}
    where fit = 'calibration'

),

predictions as (

    -- the Gamma-Gamma expected spend per purchase (the same whatever the purchase model)
    select * from {{ ref('int_customers_predicted') }}
    where fit = 'calibration'

),

histories as (

    -- every purchase model's predictions of the calibration histories
    select * from {{ ref('int_bgnbd_histories_predicted') }}
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

final as (

    select
        cast({{ dbt.concat(['histories.model', "'_gamma_gamma'"]) }} as {{ dbt.type_string() }}) as model,
        inputs.customer_id,
        inputs.frequency as calibration_frequency,
        histories.expected_purchases_holdout as predicted_purchases,
        histories.expected_purchases_holdout * predictions.expected_spend_per_purchase as predicted_revenue,
        inputs.holdout_occasions as actual_purchases,
        inputs.holdout_revenue as actual_revenue
    from inputs
    inner join histories
        on
            inputs.frequency = histories.frequency
            and inputs.recency = histories.recency
            and inputs.customer_age = histories.customer_age
    left join predictions
        on inputs.customer_id = predictions.customer_id
    union all
    select
        'heuristic' as model,
        inputs.customer_id,
        inputs.frequency as calibration_frequency,
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

)

select * from final
