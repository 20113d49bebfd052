-- Grain: segment_dimension x segment_value. The predictions segment_clv publishes per segment: the predictive
-- branch's int_segments_predicted (predicted CLV per customer with its 90% interval, and in total), or, with
-- enable_predictive false, a typed relation without rows. The heuristic line never reads it: only marts do.
with

predicted as (

    {%- if clv_var('enable_predictive') %}
        select * from {{ ref('int_segments_predicted') }}
    {%- else %}
        -- the predictive models are disabled (enable_predictive = false): no predictions
        select
            {%- for column in clv_segment_prediction_columns() %}
                cast(null as {{ clv_type_double() }}) as {{ column }},
            {%- endfor %}
            cast(null as {{ dbt.type_string() }}) as segment_dimension,
            cast(null as {{ dbt.type_string() }}) as segment_value
        {{ clv_empty_from() }}
        where 1 = 0
    {%- endif %}

),

final as (

    select
        {%- for column in clv_segment_prediction_columns() %}
            {{ column }},
        {%- endfor %}
        segment_dimension,
        segment_value
    from predicted

)

select * from final
