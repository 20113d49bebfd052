-- Grain: fit x frequency x recency x customer_age. Customers with the same purchase history (x, t_x, T)
-- share their likelihood term and their predictions in every purchase model (Fader & Hardie's compression):
-- the Python models read these distinct histories with their customer counts instead of every customer, and
-- the model choice sums the holdout purchases of each calibration history's customers.
with

inputs as (

    select * from {{ ref('int_customers_bgnbd_inputs') }}

),

final as (

    select
        fit,
        frequency,
        recency,
        customer_age,
        cast(count(*) as {{ dbt.type_bigint() }}) as customers,
        cast(sum(holdout_occasions) as {{ dbt.type_bigint() }}) as holdout_purchases
    from inputs
    group by fit, frequency, recency, customer_age

)

select * from final
