-- Grain: segment_dimension x segment_value. The predicted CLV per customer and in total of each segment
-- (docs/definitions.md, "Predictive CLV") over the segment membership of clv_customer_segments, with a 90%
-- interval of the per-customer mean from the fits' parameter uncertainty: the mean's sensitivity to each
-- log-parameter is the mean of its customers' (int_customers_predicted), its log variance the quadratic form
-- with the covariance. Beside it, the predicted LTV of a customer acquired in W (the gross profit they made
-- since, plus their predicted CLV), for the predictive LTV/CAC. Null for a segment where a customer has no
-- prediction.
with

customers as (

    select * from {{ ref('int_customers_summarised') }}

),

predictions as (

    select * from {{ ref('int_customers_predicted') }}
    where fit = 'full'

),

selected as (

    select * from {{ ref('int_purchase_models_selected') }}
    where is_selected

),

fitted as (

    select * from {{ ref('int_clv_models_fitted') }}
    where fit = 'full'

),

covariances as (

    {{ clv_log_covariance_matrices('fitted', 'selected') }}

),

customers_predicted as (

    select
        customers.*,
        {%- for k in range(1, 5) %}
            predictions.predicted_clv_sensitivity_purchase_{{ k }},
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

    -- the means over all of a segment's customers, and over those acquired in W (prefix new_)
    select
        segment_dimension,
        segment_value,
        {%- for prefix, condition in [('', 'true'), ('new_', 'is_new_in_window')] %}
            {%- for model, size in [("purchase", 4), ("gg", 3)] %}
                {%- for k in range(1, size + 1) %}
                    avg(case when {{ condition }} then predicted_clv_sensitivity_{{ model }}_{{ k }} end)
                        as {{ prefix }}sensitivity_{{ model }}_{{ k }},
                {%- endfor %}
            {%- endfor %}
            case
                when count(case when {{ condition }} then predicted_clv end)
                    = count(case when {{ condition }} then 1 end)
                    then avg(case when {{ condition }} then predicted_clv end)
            end as {{ prefix }}predicted_clv,
        {%- endfor %}
        avg(case when is_new_in_window then gross_profit end) as new_gross_profit,
        case when count(predicted_clv) = count(*) then sum(predicted_clv) end as predicted_clv_total
    from customer_segments
    group by segment_dimension, segment_value

),

variances as (

    select
        segments.*,
        {%- for prefix in ['', 'new_'] %}
            {%- set mean = 'segments.' ~ prefix ~ 'predicted_clv' %}
            (
                {{ clv_quadratic_form(
                    clv_numbered_columns('segments.' ~ prefix ~ 'sensitivity_purchase_', 4), 'covariances.purchase_covariance'
                ) }}
                + {{ clv_quadratic_form(
                    clv_numbered_columns('segments.' ~ prefix ~ 'sensitivity_gg_', 3),
                    'covariances.gamma_gamma_covariance'
                ) }}
            )
            / nullif({{ mean }} * {{ mean }}, 0)
                as {{ prefix }}log_variance,
        {%- endfor %}
        segments.new_gross_profit + segments.new_predicted_clv as predicted_ltv_per_new_customer
    from segments
    cross join covariances

),

final as (

    select
        segment_dimension,
        segment_value,
        predicted_clv as predicted_clv_per_customer,
        {{ clv_interval_90('predicted_clv', 'log_variance', 'lower') }} as predicted_clv_per_customer_lower_90,
        {{ clv_interval_90('predicted_clv', 'log_variance', 'upper') }} as predicted_clv_per_customer_upper_90,
        predicted_clv_total,
        predicted_ltv_per_new_customer,
        -- the gross profit made since acquisition is known: only the predicted part has an interval
        new_gross_profit + {{ clv_interval_90('new_predicted_clv', 'new_log_variance', 'lower') }}
            as predicted_ltv_per_new_customer_lower_90,
        new_gross_profit + {{ clv_interval_90('new_predicted_clv', 'new_log_variance', 'upper') }}
            as predicted_ltv_per_new_customer_upper_90
    from variances

)

select * from final
