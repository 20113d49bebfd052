{% macro clv_customer_segments(customers) -%}
    {#- Each customer row of the relation (or CTE) `customers` once per segment it belongs to: the whole
        business (`all`/`all`) and one row per segment_dimensions entry, with segment_dimension and
        segment_value in front. The one statement of segment membership (docs/definitions.md,
        "Segment CLV"), read by int_segments_windowed and int_segments_forecasted. -#}
    select
        'all' as segment_dimension,
        'all' as segment_value,
        {{ customers }}.*
    from {{ customers }}
    {%- for dimension in clv_var('segment_dimensions') %}

        union all

        select
            '{{ dimension }}' as segment_dimension,
            {{ dbt.cast(dimension, dbt.type_string()) }} as segment_value,
            {{ customers }}.*
        from {{ customers }}
    {%- endfor %}
{%- endmacro %}
