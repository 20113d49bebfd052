{#
    Engine differences, each behind adapter.dispatch (default__ = DuckDB; postgres__ and spark__
    overrides). Models call these, never engine-specific SQL.
#}

{% macro clv_try_timestamp(expression) %}
    {{ return(adapter.dispatch('clv_try_timestamp', 'clv')(expression)) }}
{% endmacro %}

{% macro default__clv_try_timestamp(expression) -%}
    {#- ISO-8601 text to a UTC timestamp (an offset, if any, is applied); null when it does not parse. -#}
    cast(timezone('UTC', try_cast({{ expression }} as timestamptz)) as timestamp)
{%- endmacro %}

{% macro postgres__clv_try_timestamp(expression) -%}
    {{ target.schema }}.clv_try_timestamp({{ expression }})
{%- endmacro %}

{% macro spark__clv_try_timestamp(expression) -%}
    try_to_timestamp(regexp_replace({{ expression }}, 'Z$', '+00:00'))
{%- endmacro %}


{% macro clv_try_date(expression) -%}
    cast({{ clv_try_timestamp(expression) }} as date)
{%- endmacro %}


{% macro clv_try_number(expression) -%}
    {#- Text to a double; null unless it is decimal text with an optional exponent of at most three
        digits within the double range (1e400, nan and inf do not parse). The range is checked in a
        type that holds the text whatever its size (Postgres' double cast would fail on 1e400). -#}
    case
        when {{ clv_matches_whole(expression, clv_number_pattern()) }}
            then case
                when abs(cast({{ expression }} as {{ clv_type_range_check() }})) <= {{ clv_largest_double() }}
                    then cast({{ expression }} as {{ clv_type_double() }})
            end
    end
{%- endmacro %}

{% macro clv_number_pattern() %}{{ return('[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]{1,3})?') }}{% endmacro %}

{% macro clv_largest_double() %}{{ return('1.7976931348623157e308') }}{% endmacro %}

{% macro clv_matches_whole(expression, pattern) %}
    {{ return(adapter.dispatch('clv_matches_whole', 'clv')(expression, pattern)) }}
{% endmacro %}

{% macro default__clv_matches_whole(expression, pattern) -%}
    regexp_full_match({{ expression }}, '{{ pattern }}')
{%- endmacro %}

{% macro postgres__clv_matches_whole(expression, pattern) -%}
    {{ expression }} ~ '^({{ pattern }})$'
{%- endmacro %}

{% macro spark__clv_matches_whole(expression, pattern) -%}
    {{ expression }} rlike '^({{ pattern }})$'
{%- endmacro %}

{% macro clv_type_range_check() %}
    {{ return(adapter.dispatch('clv_type_range_check', 'clv')()) }}
{% endmacro %}

{% macro default__clv_type_range_check() %}{{ return(clv_type_double()) }}{% endmacro %}

{% macro postgres__clv_type_range_check() %}{{ return('numeric') }}{% endmacro %}


{% macro clv_create_engine_functions() %}
    {#- on-run-start: helper functions an engine lacks (Postgres has no try_cast). -#}
    {{ return(adapter.dispatch('clv_create_engine_functions', 'clv')()) }}
{% endmacro %}

{% macro default__clv_create_engine_functions() %}
    {{ return('select 1 as engine_functions_created') }}
{% endmacro %}

{% macro postgres__clv_create_engine_functions() %}
    {%- set iso = "^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]+)?)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$" -%}
    {%- set sql -%}
    create schema if not exists {{ target.schema }};
    create or replace function {{ target.schema }}.clv_try_timestamp(value text) returns timestamp
    language plpgsql immutable as $fn$
    begin
        -- ISO-8601 only (Postgres would also read 03/04/2024 by DateStyle); an offset converts to UTC
        if value is null or value !~ '{{ iso }}' then
            return null;
        end if;
        if value ~ '(Z|[+-][0-9]{2}(:?[0-9]{2})?)$' and value ~ 'T|:' then
            return value::timestamptz at time zone 'UTC';
        end if;
        return value::timestamp;
    exception when others then
        return null;
    end
    $fn$
    {%- endset -%}
    {{ return(sql) }}
{% endmacro %}


{% macro clv_type_exact_amount() %}
    {#- A decimal type for sums that must not depend on the order of addition (amounts to 1e-12, up to 1e26). -#}
    {{ return(adapter.dispatch('clv_type_exact_amount', 'clv')()) }}
{% endmacro %}

{% macro default__clv_type_exact_amount() %}{{ return('decimal(38, 12)') }}{% endmacro %}


{% macro clv_median(expression) %}
    {{ return(adapter.dispatch('clv_median', 'clv')(expression)) }}
{% endmacro %}

{% macro default__clv_median(expression) -%}
    percentile_cont(0.5) within group (order by {{ expression }})
{%- endmacro %}

{% macro spark__clv_median(expression) -%}
    percentile({{ expression }}, 0.5)
{%- endmacro %}


{% macro clv_round(expression, digits) %}
    {{ return(adapter.dispatch('clv_round', 'clv')(expression, digits)) }}
{% endmacro %}

{% macro default__clv_round(expression, digits) -%}
    round({{ expression }}, {{ digits }})
{%- endmacro %}

{% macro postgres__clv_round(expression, digits) -%}
    round(cast({{ expression }} as numeric), {{ digits }})
{%- endmacro %}


{% macro clv_days_between(start_date, end_date) %}
    {#- Whole days from start_date to end_date (DATE values), the same on every engine. -#}
    {{ return(adapter.dispatch('clv_days_between', 'clv')(start_date, end_date)) }}
{% endmacro %}

{% macro default__clv_days_between(start_date, end_date) -%}
    date_diff('day', {{ start_date }}, {{ end_date }})
{%- endmacro %}

{% macro postgres__clv_days_between(start_date, end_date) -%}
    ({{ end_date }} - {{ start_date }})
{%- endmacro %}

{% macro spark__clv_days_between(start_date, end_date) -%}
    datediff({{ end_date }}, {{ start_date }})
{%- endmacro %}


{% macro clv_add_months(date_expression, months) -%}
    {#- A DATE moved by whole months (end of month clamps: 2025-08-31 - 6 months = 2025-02-28). -#}
    cast({{ dbt.dateadd('month', months, date_expression) }} as date)
{%- endmacro %}


{% macro clv_period_end(date_expression, period) -%}
    {#- The last day of a period (week: Monday to Sunday; month) that ends on or before a DATE: the date itself when
        it ends its period (or period is day), else the end of the period before. -#}
    {%- if period == 'day' -%}
        cast({{ date_expression }} as date)
    {%- else -%}
        {%- set next_day = 'cast(' ~ dbt.dateadd('day', 1, date_expression) ~ ' as date)' -%}
        {%- set period_start = 'cast(' ~ dbt.date_trunc(period, next_day) ~ ' as date)' -%}
        cast({{ dbt.dateadd('day', -1, period_start) }} as date)
    {%- endif -%}
{%- endmacro %}


{% macro clv_month_index(date_expression) -%}
    {#- Months since year 0, so that two dates' month difference is a subtraction. -#}
    (extract(year from {{ date_expression }}) * 12 + extract(month from {{ date_expression }}))
{%- endmacro %}


{% macro clv_date_literal(text) -%}
    cast('{{ text }}' as date)
{%- endmacro %}


{% macro clv_integer_series(upper_bound) -%}
    {#- The integers 0 .. upper_bound - 1 (upper_bound <= 10000) as a column named n. -#}
    {%- set digits -%}
        select 0 as d union all select 1 union all select 2 union all select 3 union all select 4
        union all select 5 union all select 6 union all select 7 union all select 8 union all select 9
    {%- endset -%}
    select ones.d + 10 * tens.d + 100 * hundreds.d + 1000 * thousands.d as n
    from ({{ digits }}) as ones
    cross join ({{ digits }}) as tens
    cross join ({{ digits }}) as hundreds
    cross join ({{ digits }}) as thousands
    where ones.d + 10 * tens.d + 100 * hundreds.d + 1000 * thousands.d < {{ upper_bound }}
{%- endmacro %}


{% macro clv_type_double() %}
    {{ return(adapter.dispatch('clv_type_double', 'clv')()) }}
{% endmacro %}

{% macro default__clv_type_double() %}{{ return('double') }}{% endmacro %}

{% macro postgres__clv_type_double() %}{{ return('double precision') }}{% endmacro %}
