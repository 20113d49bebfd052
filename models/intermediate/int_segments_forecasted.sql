-- Grain: segment_dimension x segment_value. The predicted CLV per customer and in total of each segment
-- (docs/definitions.md, "Predictive CLV"), from int_customers_forecasted over the segment membership of
-- clv_customer_segments; null for a segment where a customer has no prediction. No rows with
-- enable_predictive false.
with

customers as (

    select * from {{ ref('int_customers_summarised') }}
    {%- if not clv_var('enable_predictive') %}
        -- the predictive models are disabled: nothing to aggregate
        where 1 = 0
    {%- endif %}

),

predictions as (

    select * from {{ ref('int_customers_forecasted') }}

),

customers_predicted as (

    select
        customers.*,
        predictions.predicted_clv
    from customers
    left join predictions
        on customers.customer_id = predictions.customer_id

),

customer_segments as (

    {{ clv_customer_segments('customers_predicted') }}

),

final as (

    select
        segment_dimension,
        segment_value,
        case when count(predicted_clv) = count(*) then avg(predicted_clv) end as predicted_clv_per_customer,
        case when count(predicted_clv) = count(*) then sum(predicted_clv) end as predicted_clv_total
    from customer_segments
    group by segment_dimension, segment_value

)

select * from final
