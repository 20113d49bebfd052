{#
    Generic data tests of the project (dbt_utils is not reachable from this environment, and the
    project ships without package dependencies).
#}

{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true, where=none) %}
{#- Fails on rows whose value lies outside [min_value, max_value] (open bounds when inclusive=false). Nulls pass. -#}
select *
from {{ model }}
where
    {{ column_name }} is not null
    and (
        1 = 0
        {%- if min_value is not none %}
        or {{ column_name }} {{ '<' if inclusive else '<=' }} {{ min_value }}
        {%- endif %}
        {%- if max_value is not none %}
        or {{ column_name }} {{ '>' if inclusive else '>=' }} {{ max_value }}
        {%- endif %}
    )
    {%- if where %}
    and ({{ where }})
    {%- endif %}
{% endtest %}


{% test unique_combination_of_columns(model, combination_of_columns) %}
{#- Fails on each combination of the columns that occurs more than once (the grain of the model). -#}
select
    {{ combination_of_columns | join(', ') }},
    count(*) as occurrences
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endtest %}


{% test expression_is_true(model, expression, where=none) %}
{#- Fails on rows where the boolean expression is false or null. -#}
select *
from {{ model }}
where
    not coalesce({{ expression }}, false)
    {%- if where %}
    and ({{ where }})
    {%- endif %}
{% endtest %}


{% test accepted_segment_dimensions(model, column_name) %}
    {#- segment_dimension is `all` or one of the segment_dimensions var (built-in or a shop's own customer column). -#}
    {%- set accepted = ['all'] + clv_var('segment_dimensions') -%}
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} is null or {{ column_name }} not in ('{{ accepted | join("', '") }}')
{% endtest %}
