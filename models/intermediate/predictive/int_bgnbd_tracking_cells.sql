-- Grain: period_number x first_purchase_date. The cells of the tracking diagnostic (Fader, Hardie & Lee 2005,
-- "actual vs expected repeat transactions over calendar time"): the backtest's calibration customers (first
-- purchase on or before the holdout start), grouped by their first purchase day, against each month counted back
-- from as_of; their ages at the period's start and end in time units. int_bgnbd_tracking_expected adds what each
-- purchase model's calibration fit expects of each cell.
with

purchases as (

    select * from {{ ref('int_purchases_sequenced') }}

),

parameters as (

    select * from {{ ref('int_parameters') }}

),

cohorts as (

    select
        purchases.first_purchase_date,
        count(distinct purchases.customer_id) as customers
    from purchases
    cross join parameters
    where purchases.first_purchase_date <= parameters.holdout_start_date
    group by purchases.first_purchase_date

),

extent as (

    select
        {{ clv_month_index('parameters.as_of_date') }} - {{ clv_month_index('min(cohorts.first_purchase_date)') }} + 1
            as periods
    from cohorts
    cross join parameters
    group by parameters.as_of_date

),

periods as (

    -- period k is (as_of - k months, as_of - (k - 1) months]: the holdout start is a period boundary
    select
        cast(steps.n + 1 as {{ dbt.type_bigint() }}) as period_number,
        {{ clv_add_months('parameters.as_of_date', '-(steps.n + 1)') }} as period_start,
        {{ clv_add_months('parameters.as_of_date', '-steps.n') }} as period_end
    from ({{ clv_integer_series(10000) }}) as steps
    cross join extent
    cross join parameters
    where steps.n < extent.periods

),

final as (

    select
        periods.period_number,
        periods.period_start,
        periods.period_end,
        cohorts.first_purchase_date,
        cast(cohorts.customers as {{ dbt.type_bigint() }}) as customers,
        cast(
            case
                when cohorts.first_purchase_date > periods.period_start then 0
                else {{ clv_days_between('cohorts.first_purchase_date', 'periods.period_start') }}
            end as {{ clv_type_double() }}
        ) / parameters.time_unit_days as start_age,
        cast({{ clv_days_between('cohorts.first_purchase_date', 'periods.period_end') }} as {{ clv_type_double() }})
        / parameters.time_unit_days as end_age
    from periods
    cross join parameters
    inner join cohorts
        on periods.period_end > cohorts.first_purchase_date

)

select * from final
