{#
    Helpers of the quarantine (docs/definitions.md, "Bad input"), shared by the base_raw__* models: every raw row
    gets its content as text, its copy number among identical rows, and whether rows sharing its
    key disagree. The base model then names the first reason that applies, or null for a clean row.
#}

{% macro clv_raw_row(columns, redacted=[]) -%}
    {#- The raw row's content as text: column=value pairs, null spelled out. A personal column in
        `redacted` shows as <redacted N> instead, N numbering the distinct values of the row's key
        (the model computes <column>_variant), so quarantined copies that differ only there can
        still be told apart, and a rebuild of the same data gives the same text. -#}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("'" ~ column ~ "='") -%}
        {%- if column in redacted -%}
            {%- do parts.append("case when " ~ column ~ " is null then 'null' else " ~ dbt.concat(["'<redacted '", dbt.cast(column ~ '_variant', dbt.type_string()), "'>'"]) ~ " end") -%}
        {%- else -%}
            {%- do parts.append("coalesce(" ~ column ~ ", 'null')") -%}
        {%- endif -%}
        {%- if not loop.last %}{% do parts.append("' | '") %}{% endif -%}
    {%- endfor -%}
    {#- a raw CSV line that could not be split into columns is described by the source select instead -#}
    coalesce(malformed_line, {{ dbt.concat(parts) }})
{%- endmacro %}


{% macro clv_is_implausible(expressions) -%}
    {#- True when any of the amounts exceeds max_plausible_amount in absolute value (no shop has such an
        order, cost or rate; it would swamp every sum downstream). -#}
    {%- set bound = clv_var('max_plausible_amount') -%}
    ({% for expression in expressions %}abs({{ expression }}) > {{ bound }}{{ ' or ' if not loop.last }}{% endfor %})
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


{% macro clv_checked_rows(relation, columns, key, conflict_key=none, redacted=[]) -%}
    {#- The rows of `relation` (raw text `columns` and malformed_line, from raw_source_select) with what
        the quarantine rules need besides the typed values: raw_row (the row's content as text),
        raw_key (the `key` columns as text), copy_number and has_conflicting_key (clv_row_checks, on
        conflict_key when it differs from the key; [] for a table without one). Duplicates and
        conflicts are judged on the whole raw text; the personal columns in `redacted` are then shown
        as <redacted N> in raw_row. -#}
    {%- set described -%}
        select
            *,
            {{ clv_raw_row(columns) }} as raw_row,
            {{ clv_raw_key(key) }} as raw_key
        from {{ relation }}
    {%- endset -%}
    {%- set checked -%}
        select
            *,
            {%- for column in redacted %}
            dense_rank() over (partition by {{ key | join(', ') }} order by {{ column }}) as {{ column }}_variant,
            {%- endfor %}
            {{ clv_row_checks(key if conflict_key is none else conflict_key) }}
        from ({{ described }}) as described
    {%- endset -%}
    {%- if redacted %}
    select
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        malformed_line,
        raw_key,
        {{ clv_raw_row(columns, redacted=redacted) }} as raw_row,
        copy_number,
        has_conflicting_key
    from ({{ checked }}) as checked
    {%- else %}
    {{ checked }}
    {%- endif %}
{%- endmacro %}


{% macro clv_checked_columns() -%}
    {#- What a base model's typed CTE carries from clv_checked_rows besides its typed values, for its
        rules: raw_key, raw_row, malformed_line, copy_number, has_conflicting_key. -#}
    raw_key,
    raw_row,
    malformed_line,
    copy_number,
    has_conflicting_key
{%- endmacro %}


{% macro clv_row_reasons(conflict_reason=none) -%}
    {#- The first quarantine reasons of every raw table, in this order (docs/definitions.md, "Bad input"):
        a line that could not be split into columns, a second copy of an identical row, and (for a
        table with a key) a key whose rows disagree, with the table's own name for that conflict. -#}
    when malformed_line is not null then 'malformed_row'
    when copy_number > 1 then 'duplicate_row'
    {%- if conflict_reason %}
    when has_conflicting_key then '{{ conflict_reason }}'
    {%- endif %}
{%- endmacro %}


{% macro clv_quarantine_columns() -%}
    {#- The last columns of every base model, after its typed columns: the raw key, the raw text of a
        quarantined row (a clean row's content is its typed columns; keeping the text of every row
        measured +10% staging time and twice the file size at 1M orders), the copy number and the
        reason (null for a clean row). Reads the rules CTE's quarantine_reason. -#}
    raw_key,
    case when quarantine_reason is not null then raw_row end as raw_row,
    copy_number,
    quarantine_reason
{%- endmacro %}


{% macro clv_stop_without_clean_orders(relation) %}
    {#- Post-hook of base_raw__orders: with no clean order there is nothing to compute, so the run stops
        here with the file, the row count and the top quarantine reasons, rather than on a failing test
        deep in the DAG (e.g. "orders: 0 of 1,204 rows are clean: 1,204 unparseable_timestamp"). -#}
    {%- if not execute -%}{{ return('select 1 as orders_checked') }}{%- endif -%}
    {%- set counts = run_query(
        "select quarantine_reason, count(*) as rows_with_reason from " ~ relation
        ~ " group by quarantine_reason order by case when quarantine_reason is null then 0 else 1 end, 2 desc, 1") -%}
    {%- set tally = {'total': 0, 'clean': 0} -%}
    {%- set reasons = [] -%}
    {%- for row in counts.rows -%}
        {%- do tally.update({'total': tally.total + row[1]}) -%}
        {%- if row[0] is none -%}
            {%- do tally.update({'clean': row[1]}) -%}
        {%- elif reasons | length < 3 -%}
            {%- do reasons.append('{:,}'.format(row[1]) ~ ' ' ~ row[0]) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set total = tally.total -%}
    {%- if tally.clean == 0 -%}
        {%- set where = clv_raw_location('orders', clv_raw_relation('orders')) -%}
        {%- set detail = (': ' ~ (reasons | join(', ')) ~ ' (each row with its reason is in the table ' ~ relation ~ ')') if total > 0 else ': the table has a header and no data rows' -%}
        {{ exceptions.raise_compiler_error("orders: 0 of " ~ '{:,}'.format(total) ~ " rows are clean" ~ detail ~ ". Read from " ~ where ~ ".") }}
    {%- endif -%}
    {{ return('select 1 as orders_checked') }}
{% endmacro %}
