-- Grain: customer_id. The predictions the marts publish per customer: the `full` fit of the predictive
-- branch (int_customers_predicted), or, with enable_predictive false, a typed relation without rows.
-- The heuristic line (int_orders_priced .. int_segments_windowed) never reads it: only marts do.
with

predicted as (

    {%- if clv_var('enable_predictive') %}
        select * from {{ ref('int_customers_predicted') }}
        where fit = 'full'
    {%- else %}
        -- the predictive models are disabled (enable_predictive = false): no predictions
        select
            {%- for column in clv_prediction_columns() %}
                cast(null as {{ clv_type_double() }}) as {{ column }},
            {%- endfor %}
            cast(null as {{ dbt.type_string() }}) as customer_id
        {{ clv_empty_from() }}
        where 1 = 0
    {%- endif %}

),

final as (

    select
        {%- for column in clv_prediction_columns() %}
            {{ column }},
        {%- endfor %}
        customer_id
    from predicted

)

select * from final
