-- Grain: fit x frequency x monetary_value. The Gamma-Gamma inputs: repeat customers (x > 0) with a
-- positive mean repeat spend, compressed to distinct (x, m) with their customer counts.
with

inputs as (

    select * from {{ ref('int_customers_bgnbd_inputs') }}

),

final as (

    select
        fit,
        frequency,
        monetary_value,
        cast(count(*) as {{ dbt.type_bigint() }}) as customers
    from inputs
    where frequency > 0 and monetary_value > 0
    group by fit, frequency, monetary_value

)

select * from final
