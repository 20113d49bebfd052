-- Grain: segment_dimension x segment_value. The predicted CLV per customer and in total of each segment
-- (docs/definitions.md, "Predictive CLV") over the segment membership of clv_customer_segments, with a 90%
-- interval of the per-customer mean from the fits' parameter uncertainty: the mean's sensitivity to each
-- log-parameter is the mean of its customers' (int_customers_predicted), its log variance the quadratic form
-- with the covariance. Null for a segment where a customer has no prediction.
{%- set z_90 = 1.6448536269514722 %}
with

customers as (

    select * from {{ ref('int_customers_summarised') }}

),

predictions as (

    select * from {{ ref('int_customers_predicted') }}
    where fit = 'full'

),

fitted as (

    select * from {{ ref('int_clv_models_fitted') }}
    where fit = 'full'

),

covariances as (

    {{ clv_log_covariance_matrices('fitted') }}

),

customers_predicted as (

    select
        customers.*,
        {%- for k in range(1, 5) %}
            predictions.predicted_clv_sensitivity_bg_{{ k }},
        {%- endfor %}
        {%- for k in range(1, 4) %}
            predictions.predicted_clv_sensitivity_gg_{{ k }},
        {%- endfor %}
        predictions.predicted_clv
    from customers
    left join predictions
        on customers.customer_id = predictions.customer_id

),

customer_segments as (

    {{ clv_customer_segments('customers_predicted') }}

),

segments as (

    select
        segment_dimension,
        segment_value,
        {%- for k in range(1, 5) %}
            avg(predicted_clv_sensitivity_bg_{{ k }}) as sensitivity_bg_{{ k }},
        {%- endfor %}
        {%- for k in range(1, 4) %}
            avg(predicted_clv_sensitivity_gg_{{ k }}) as sensitivity_gg_{{ k }},
        {%- endfor %}
        case when count(predicted_clv) = count(*) then avg(predicted_clv) end as predicted_clv_per_customer,
        case when count(predicted_clv) = count(*) then sum(predicted_clv) end as predicted_clv_total
    from customer_segments
    group by segment_dimension, segment_value

),

variances as (

    select
        segments.segment_dimension,
        segments.segment_value,
        segments.predicted_clv_per_customer,
        segments.predicted_clv_total,
        (
            {{ clv_quadratic_form(
                clv_numbered_columns('segments.sensitivity_bg_', 4), 'covariances.bg_nbd_covariance'
            ) }}
            + {{ clv_quadratic_form(
                clv_numbered_columns('segments.sensitivity_gg_', 3), 'covariances.gamma_gamma_covariance'
            ) }}
        ) / nullif(segments.predicted_clv_per_customer * segments.predicted_clv_per_customer, 0) as log_variance
    from segments
    cross join covariances

),

final as (

    select
        segment_dimension,
        segment_value,
        predicted_clv_per_customer,
        -- a segment that loses money has a negative CLV: its interval runs the other way
        predicted_clv_per_customer * exp(
            case when predicted_clv_per_customer < 0 then 1 else -1 end * {{ z_90 }} * sqrt(log_variance)
        ) as predicted_clv_per_customer_lower_90,
        predicted_clv_per_customer * exp(
            case when predicted_clv_per_customer < 0 then -1 else 1 end * {{ z_90 }} * sqrt(log_variance)
        ) as predicted_clv_per_customer_upper_90,
        predicted_clv_total
    from variances

)

select * from final
