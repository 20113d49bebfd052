-- Grain: date_day. The calendar MetricFlow joins cumulative metrics and time grains to (the dbt semantic
-- layer's time spine): every day from 1970-01-01 to 2069-12-31.
with

tens_of_thousands as (

    select 0 as k
    union all
    select 1 as k
    union all
    select 2 as k
    union all
    select 3 as k

),

days as (

    select tens_of_thousands.k * 10000 + units.n as day_number
    from ({{ clv_integer_series(10000) }}) as units
    cross join tens_of_thousands

),

final as (

    select cast({{ dbt.dateadd('day', 'day_number', clv_date_literal('1970-01-01')) }} as date) as date_day
    from days
    where day_number < 36525

)

select * from final
