-- Grain: model x frequency x recency_step. The frequency/recency matrix of each purchase model's full fit
-- (lifetimes' P(alive) and frequency/recency plots): for a customer as old as the oldest one, P(alive) and the
-- expected purchases in the next 90 days by repeat occasions and age at the last purchase; beside it, where the
-- customers are (their count in the cell and their own mean P(alive) under the model, at their own ages).
with

grid as (

    select * from {{ ref('int_frequency_recency_grid') }}

),

histories as (

    select * from {{ ref('int_bgnbd_histories_predicted') }}
    where fit = 'full'

),

inputs as (

    select * from {{ ref('int_customers_bgnbd_inputs') }}
    where fit = 'full'

),

parameters as (

    select * from {{ ref('int_parameters') }}

),

extent as (

    select max(customer_age) as customer_age from grid

),

customer_cells as (

    select
        histories.model,
        {{ clv_diagnostic_frequency('inputs.frequency') }} as frequency,
        -- every customer bought on the as-of day only (age 0 everywhere): the one cell has recency 0
        case
            when extent.customer_age > 0
                then cast(round(20 * inputs.recency / extent.customer_age) as {{ dbt.type_bigint() }})
            else 0
        end as recency_step,
        histories.p_alive
    from inputs
    cross join extent
    inner join histories
        on
            inputs.frequency = histories.frequency
            and inputs.recency = histories.recency
            and inputs.customer_age = histories.customer_age

),

cell_customers as (

    select
        model,
        frequency,
        recency_step,
        count(*) as customers,
        avg(p_alive) as customers_p_alive
    from customer_cells
    group by model, frequency, recency_step

),

final as (

    select
        cast(histories.model as {{ dbt.type_string() }}) as model,
        grid.frequency,
        grid.recency_step,
        grid.recency,
        grid.customer_age,
        grid.frequency = {{ clv_var('diagnostic_max_frequency') }} as is_top_frequency,
        histories.p_alive,
        histories.expected_purchases_90d,
        cast(coalesce(cell_customers.customers, 0) as {{ dbt.type_bigint() }}) as customers,
        cast(cell_customers.customers_p_alive as {{ clv_type_double() }}) as customers_p_alive,
        parameters.time_unit,
        parameters.as_of_date
    from grid
    cross join parameters
    inner join histories
        on
            grid.fit = histories.fit
            and grid.frequency = histories.frequency
            and grid.recency = histories.recency
            and grid.customer_age = histories.customer_age
    left join cell_customers
        on
            histories.model = cell_customers.model
            and grid.frequency = cell_customers.frequency
            and grid.recency_step = cell_customers.recency_step

)

select * from final
