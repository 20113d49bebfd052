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


{% macro clv_row_checks(key_columns, partition_columns=none) -%}
    {#- Columns copy_number (1 for the first of identical raw rows) and has_conflicting_key (rows
        with the same non-null key but different content exist). Needs raw_row in the relation.
        One window (the rows of a key sorted by content), so the engine sorts once: identical rows
        are adjacent, copy_number is their position among them (row_number - rank + 1), and a key
        conflicts when its first and last content differ. A table without a key is partitioned by
        partition_columns (identical rows share them), else by the content itself. -#}
    {%- set partition = 'partition by ' ~ ((partition_columns or key_columns or ['raw_row']) | join(', ')) ~ ' ' -%}
    {%- set window = '(' ~ partition ~ 'order by raw_row)' -%}
    {%- set whole_key = '(' ~ partition ~ 'order by raw_row rows between unbounded preceding and unbounded following)' -%}
    row_number() over {{ window }} - rank() over {{ window }} + 1 as copy_number,
    {%- if key_columns %}
    coalesce(
        {%- for column in key_columns %} {{ column }} is not null{{ ' and' if not loop.last }}{% endfor %}
        and first_value(raw_row) over {{ whole_key }}
        <> last_value(raw_row) over {{ whole_key }},
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


{% macro clv_raw_row_if_quarantined() -%}
    {#- A base model keeps the raw text of its quarantined rows only (they have nothing else to show);
        a clean row's content is its typed columns. Materialising the text of every raw row cost
        about a quarter of the base models' time at 10M orders. -#}
    case when quarantine_reason is not null then raw_row end as raw_row
{%- endmacro %}
