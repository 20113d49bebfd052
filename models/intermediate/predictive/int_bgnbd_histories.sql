-- Grain: fit x frequency x recency x customer_age. Customers with the same BG/NBD history (x, t_x, T)
-- share their likelihood term and their predictions (Fader & Hardie's compression): the Python models
-- read these distinct histories with their customer counts instead of every customer.
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
        cast(count(*) as {{ dbt.type_bigint() }}) as customers
    from inputs
    group by fit, frequency, recency, customer_age

)

select * from final
