-- Grain: model x period_number. The tracking diagnostic (Fader, Hardie & Lee 2005, "actual vs expected repeat
-- transactions"): per month counted back from as_of, the repeat purchase occasions the backtest's calibration
-- customers made beside what each purchase model's calibration fit expects of them, through the calibration
-- period and on into the holdout, which the fit never saw. A model that fits tracks the actual line in both.
with

cells as (

    select * from {{ ref('int_bgnbd_tracking_cells') }}

),

expected as (

    select * from {{ ref('int_bgnbd_tracking_expected') }}

),

purchases as (

    select * from {{ ref('int_purchases_sequenced') }}

),

parameters as (

    select * from {{ ref('int_parameters') }}

),

periods as (

    select
        period_number,
        period_start,
        period_end,
        sum(customers) as customers
    from cells
    group by period_number, period_start, period_end

),

repeat_occasions as (

    -- purchase occasions (distinct purchase days) after the first, of the calibration customers
    select distinct
        purchases.customer_id,
        purchases.order_date
    from purchases
    cross join parameters
    where
        purchases.first_purchase_date <= parameters.holdout_start_date
        and purchases.order_date > purchases.first_purchase_date

),

actual as (

    select
        periods.period_number,
        count(*) as repeat_purchases
    from repeat_occasions
    inner join periods
        on
            repeat_occasions.order_date > periods.period_start
            and repeat_occasions.order_date <= periods.period_end
    group by periods.period_number

),

final as (

    select
        cast(expected.model as {{ dbt.type_string() }}) as model,
        periods.period_number,
        periods.period_start,
        periods.period_end,
        periods.period_start >= parameters.holdout_start_date as is_holdout,
        cast(periods.customers as {{ dbt.type_bigint() }}) as customers,
        cast(coalesce(actual.repeat_purchases, 0) as {{ dbt.type_bigint() }}) as actual_repeat_purchases,
        cast(expected.expected_repeat_purchases as {{ clv_type_double() }}) as expected_repeat_purchases,
        parameters.holdout_start_date,
        parameters.as_of_date
    from periods
    cross join parameters
    inner join expected
        on periods.period_number = expected.period_number
    left join actual
        on periods.period_number = actual.period_number

)

select * from final
