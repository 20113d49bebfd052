{#
    Helpers of the quarantine (SPEC section 2), shared by the base_raw__* models: every raw row
    gets its content as text, its copy number among identical rows, and whether rows sharing its
    key disagree. The base model then names the first reason that applies, or null for a clean row.
#}

{% macro clv_raw_row(columns) -%}
    {#- The raw row's content as text: column=value pairs, null spelled out. -#}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("'" ~ column ~ "='") -%}
        {%- do parts.append("coalesce(" ~ column ~ ", 'null')") -%}
        {%- if not loop.last %}{% do parts.append("' | '") %}{% endif -%}
    {%- endfor -%}
    {{ dbt.concat(parts) }}
{%- endmacro %}


{% macro clv_row_checks(key_columns) -%}
    {#- Columns copy_number (1 for the first of identical raw rows) and has_conflicting_key (rows
        with the same non-null key but different content exist). Needs raw_row in the relation. -#}
    row_number() over (partition by raw_row order by raw_row) as copy_number,
    {%- if key_columns %}
    coalesce(
        {%- for column in key_columns %} {{ column }} is not null{{ ' and' if not loop.last }}{% endfor %}
        and min(raw_row) over (partition by {{ key_columns | join(', ') }})
        <> max(raw_row) over (partition by {{ key_columns | join(', ') }}),
        false
    ) as has_conflicting_key
    {%- else %}
    false as has_conflicting_key
    {%- endif %}
{%- endmacro %}


{% macro clv_future_cutoff() -%}
    {#- Timestamps after this date are future_dated: the future_date_cutoff var, else the run date. -#}
    {%- set cutoff = clv_var('future_date_cutoff') -%}
    {{ clv_date_literal(cutoff if cutoff is not none else run_started_at.strftime('%Y-%m-%d')) }}
{%- endmacro %}


{% macro clv_raw_key(columns) -%}
    {#- The raw row's key as text (key columns joined by '/', null spelled out). -#}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("coalesce(" ~ column ~ ", 'null')") -%}
        {%- if not loop.last %}{% do parts.append("'/'") %}{% endif -%}
    {%- endfor -%}
    {{ dbt.concat(parts) }}
{%- endmacro %}
