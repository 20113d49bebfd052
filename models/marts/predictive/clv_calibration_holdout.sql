-- Grain: model x calibration_frequency. The backtest by calibration frequency (lifetimes' "calibration vs
-- holdout purchases" plot): the calibration customers grouped by their repeat purchase occasions up to the
-- holdout start, with the mean purchases each model predicts for the holdout beside the mean they made.
-- Customers with more than diagnostic_max_frequency repeat occasions join its row.
with

backtested as (

    select * from {{ ref('int_customers_backtested') }}

),

parameters as (

    select * from {{ ref('int_parameters') }}

),

bucketed as (

    select
        model,
        {{ clv_diagnostic_frequency('calibration_frequency') }} as calibration_frequency,
        predicted_purchases,
        actual_purchases
    from backtested

),

grouped as (

    select
        model,
        calibration_frequency,
        count(*) as customers,
        count(predicted_purchases) as customers_predicted,
        sum(predicted_purchases) as predicted_purchases,
        sum(actual_purchases) as actual_purchases
    from bucketed
    group by model, calibration_frequency

),

final as (

    select
        grouped.model,
        cast(grouped.calibration_frequency as {{ dbt.type_bigint() }}) as calibration_frequency,
        grouped.calibration_frequency = {{ clv_var('diagnostic_max_frequency') }} as is_top_frequency,
        cast(grouped.customers as {{ dbt.type_bigint() }}) as customers,
        cast(grouped.actual_purchases as {{ clv_type_double() }}) / grouped.customers as actual_purchases_per_customer,
        cast(
            case when grouped.customers_predicted = grouped.customers then grouped.predicted_purchases / grouped.customers end
            as {{ clv_type_double() }}
        ) as predicted_purchases_per_customer,
        cast(grouped.actual_purchases as {{ dbt.type_bigint() }}) as actual_purchases,
        cast(
            case when grouped.customers_predicted = grouped.customers then grouped.predicted_purchases end
            as {{ clv_type_double() }}
        ) as predicted_purchases,
        parameters.holdout_start_date,
        parameters.as_of_date
    from grouped
    cross join parameters

)

select * from final
