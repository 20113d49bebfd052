{#
    The one place where the project's vars are defined, defaulted and validated (docs/definitions.md, "Configuration").
    Models read a var with clv_var('name'); a bad value stops the build with a message naming the
    var and the values it accepts. clv_validate_vars() runs as the first on-run-start hook.
#}

{% macro clv_var_defaults() %}
    {{ return({
        'as_of_date': none,
        'observation_window_months': 12,
        'reporting_currency': 'USD',
        'discount_rate': 0.10,
        'clv_horizon_years': 10,
        'max_lifetime_years': 10,
        'default_gross_margin': 0.40,
        'margin_method': 'items',
        'segment_dimensions': ['acquisition_channel', 'country', 'cohort_year'],
        'overdue_factor': 2.0,
        'time_unit': 'week',
        'holdout_months': 6,
        'incremental_lookback_days': 3,
        'max_plausible_amount': 1000000000000,
        'future_date_cutoff': none,
        'enable_predictive': target.type == 'duckdb',
        'raw_data_dir': none,
        'raw_schema': none,
        'raw_database': none,
        'raw_file_encoding': 'utf-8',
    }) }}
{% endmacro %}


{% macro clv_structural_vars() %}
    {#- Vars that say where the raw data is and what is built, not how a number is computed. -#}
    {{ return(['enable_predictive', 'raw_data_dir', 'raw_schema', 'raw_database', 'raw_file_encoding']) }}
{% endmacro %}


{% macro clv_var(name) %}
    {#-
        A dbt unit test states its inputs: inside one, every var that changes numbers takes its default
        unless the test pins it under `overrides: vars`, whatever the run passes with --vars. A test
        written for USD reporting and a 12-month window then holds on a build in EUR with a 6-month
        window. Vars that locate the raw data (clv_structural_vars) keep the run's value.
    -#}
    {%- set defaults = clv_var_defaults() -%}
    {%- if name not in defaults -%}
        {{ exceptions.raise_compiler_error("clv_var: unknown var '" ~ name ~ "'. Known vars: " ~ (defaults.keys() | list | join(', '))) }}
    {%- endif -%}
    {%- if model is defined and model is not none and model.resource_type == 'unit_test' and name not in clv_structural_vars() -%}
        {%- set pinned = (model.overrides.vars if model.overrides and model.overrides.vars else {}) -%}
        {{ return(_clv_check_var(name, pinned[name] if name in pinned else defaults[name])) }}
    {%- endif -%}
    {{ return(_clv_check_var(name, var(name, defaults[name]))) }}
{% endmacro %}


{% macro _clv_fail(name, value, accepted) %}
    {{ exceptions.raise_compiler_error("Invalid value for var '" ~ name ~ "': " ~ (value | string) ~ ". Accepted values: " ~ accepted ~ ".") }}
{% endmacro %}


{% macro _clv_number(name, value, accepted) %}
    {#- Numbers may arrive as YAML numbers or as strings; booleans are not numbers. -#}
    {%- set text = value | string | trim -%}
    {%- if value is boolean or value is none or not modules.re.match('^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$', text) -%}
        {{ _clv_fail(name, value, accepted) }}
    {%- endif -%}
    {{ return(text | float) }}
{% endmacro %}


{% macro _clv_integer(name, value, low, high) %}
    {%- set accepted = 'a whole number from ' ~ low ~ ' to ' ~ high -%}
    {%- set text = value | string | trim -%}
    {%- if value is boolean or value is none or not modules.re.match('^[+]?[0-9]+$', text) -%}
        {{ _clv_fail(name, value, accepted) }}
    {%- endif -%}
    {%- set number = text | int -%}
    {%- if number < low or number > high -%}
        {{ _clv_fail(name, value, accepted) }}
    {%- endif -%}
    {{ return(number) }}
{% endmacro %}


{% macro _clv_date(name, value, accepted) %}
    {#- A calendar date as YYYY-MM-DD (YAML may already have parsed it into a date). -#}
    {%- set text = value | string | trim -%}
    {%- set match = modules.re.match('^([0-9]{4})-([0-9]{2})-([0-9]{2})$', text) -%}
    {%- if not match -%}
        {{ _clv_fail(name, value, accepted) }}
    {%- endif -%}
    {%- set year = match.group(1) | int -%}
    {%- set month = match.group(2) | int -%}
    {%- set day = match.group(3) | int -%}
    {%- if year < 1 or month < 1 or month > 12 or day < 1 -%}
        {{ _clv_fail(name, value, accepted) }}
    {%- endif -%}
    {%- set next_month = modules.datetime.date(year + (1 if month == 12 else 0), 1 if month == 12 else month + 1, 1) -%}
    {%- set month_days = (next_month - modules.datetime.timedelta(days=1)).day -%}
    {%- if day > month_days -%}
        {{ _clv_fail(name, value, accepted) }}
    {%- endif -%}
    {{ return(text) }}
{% endmacro %}


{% macro _clv_check_var(name, value) %}
    {%- set date_text = 'a date as YYYY-MM-DD (e.g. 2025-12-31)' -%}
    {%- if name == 'as_of_date' -%}
        {{ return(none if value is none or (value | string | trim) in ('', 'none', 'None', 'null') else _clv_date(name, value, date_text ~ ', or null for the latest clean order date')) }}
    {%- elif name == 'future_date_cutoff' -%}
        {{ return(none if value is none or (value | string | trim) in ('', 'none', 'None', 'null') else _clv_date(name, value, date_text ~ ', or null for the date of the run')) }}
    {%- elif name == 'observation_window_months' -%}
        {{ return(_clv_integer(name, value, 1, 120)) }}
    {%- elif name == 'holdout_months' -%}
        {{ return(_clv_integer(name, value, 1, 120)) }}
    {%- elif name == 'incremental_lookback_days' -%}
        {{ return(_clv_integer(name, value, 0, 3650)) }}
    {%- elif name == 'clv_horizon_years' -%}
        {{ return(_clv_integer(name, value, 1, clv_horizon_years_max())) }}
    {%- elif name == 'max_lifetime_years' -%}
        {%- set number = _clv_number(name, value, 'a number > 0 and <= 100') -%}
        {%- if number <= 0 or number > 100 -%}{{ _clv_fail(name, value, 'a number > 0 and <= 100') }}{%- endif -%}
        {{ return(number) }}
    {%- elif name == 'discount_rate' -%}
        {%- set number = _clv_number(name, value, 'a number in [0, 1) (an annual rate as a fraction, e.g. 0.10)') -%}
        {%- if number < 0 or number >= 1 -%}{{ _clv_fail(name, value, 'a number in [0, 1) (an annual rate as a fraction, e.g. 0.10)') }}{%- endif -%}
        {{ return(number) }}
    {%- elif name == 'default_gross_margin' -%}
        {%- set number = _clv_number(name, value, 'a number in [0, 1] (a fraction, e.g. 0.40)') -%}
        {%- if number < 0 or number > 1 -%}{{ _clv_fail(name, value, 'a number in [0, 1] (a fraction, e.g. 0.40)') }}{%- endif -%}
        {{ return(number) }}
    {%- elif name == 'max_plausible_amount' -%}
        {%- set accepted = 'a number from 1 to 1e300 (the largest amount, count or rate a raw row may hold, e.g. 1e12)' -%}
        {%- set number = _clv_number(name, value, accepted) -%}
        {%- if number < 1 or number > 1e300 -%}{{ _clv_fail(name, value, accepted) }}{%- endif -%}
        {{ return(number) }}
    {%- elif name == 'overdue_factor' -%}
        {%- set number = _clv_number(name, value, 'a number > 0 (e.g. 2.0)') -%}
        {%- if number <= 0 -%}{{ _clv_fail(name, value, 'a number > 0 (e.g. 2.0)') }}{%- endif -%}
        {{ return(number) }}
    {%- elif name == 'reporting_currency' -%}
        {%- set text = value | string | trim | upper -%}
        {%- if not modules.re.match('^[A-Z]{3}$', text) -%}{{ _clv_fail(name, value, 'a three-letter ISO 4217 currency code (e.g. USD)') }}{%- endif -%}
        {{ return(text) }}
    {%- elif name == 'margin_method' -%}
        {%- set text = value | string | trim | lower -%}
        {%- if text not in ('items', 'inventory', 'fixed') -%}{{ _clv_fail(name, value, 'items, inventory, fixed') }}{%- endif -%}
        {{ return(text) }}
    {%- elif name == 'time_unit' -%}
        {%- set text = value | string | trim | lower -%}
        {%- if text not in ('day', 'week') -%}{{ _clv_fail(name, value, 'day, week') }}{%- endif -%}
        {{ return(text) }}
    {%- elif name == 'segment_dimensions' -%}
        {#- The built-in attributes, or any other column of the raw customers table (a shop's own
            loyalty_tier, region, ...), named in lower case; never a personal or a reserved column. -#}
        {%- set reserved = clv_personal_columns('customers') + ['customer_id', 'created_at'] + clv_customer_summary_columns() -%}
        {%- set accepted = 'a list of customer columns (acquisition_channel, country, cohort_year, or a column of the raw customers table named like loyalty_tier; not ' ~ (reserved | join(', ')) ~ '); may be empty, the all/all segment is always published' -%}
        {%- set items = [value] if value is string else value -%}
        {%- if items is none or items is mapping or items is not iterable -%}{{ _clv_fail(name, value, accepted) }}{%- endif -%}
        {%- set cleaned = [] -%}
        {%- for item in items -%}
            {%- set text = item | string | trim | lower -%}
            {%- if not modules.re.match('^[a-z][a-z0-9_]{0,62}$', text) or text in reserved -%}{{ _clv_fail(name, value, accepted) }}{%- endif -%}
            {%- if text not in cleaned -%}{%- do cleaned.append(text) -%}{%- endif -%}
        {%- endfor -%}
        {{ return(cleaned) }}
    {%- elif name == 'enable_predictive' -%}
        {%- if value is boolean -%}{{ return(value) }}{%- endif -%}
        {%- set text = value | string | trim | lower -%}
        {%- if text not in ('true', 'false') -%}{{ _clv_fail(name, value, 'true, false') }}{%- endif -%}
        {{ return(text == 'true') }}
    {%- elif name == 'raw_file_encoding' -%}
        {#- What DuckDB's CSV reader decodes without an extension download. -#}
        {%- set text = value | string | trim | lower | replace('_', '-') -%}
        {%- set aliases = {'utf8': 'utf-8', 'utf16': 'utf-16', 'latin1': 'latin-1', 'iso-8859-1': 'latin-1'} -%}
        {%- set text = aliases.get(text, text) -%}
        {%- if text not in ('utf-8', 'utf-16', 'latin-1') -%}{{ _clv_fail(name, value, 'utf-8, utf-16, latin-1') }}{%- endif -%}
        {{ return(text) }}
    {%- else -%}
        {#- raw_data_dir, raw_schema, raw_database: free text, checked where they are used -#}
        {{ return(none if value is none or (value | string | trim) == '' else (value | string | trim)) }}
    {%- endif -%}
{% endmacro %}


{% macro clv_validate_vars() %}
    {#- Read every var once so that a bad value fails the run before any model is built. -#}
    {%- for name in clv_var_defaults().keys() -%}
        {%- do clv_var(name) -%}
    {%- endfor -%}
    {%- if clv_var('raw_data_dir') is not none and target.type != 'duckdb' -%}
        {{ exceptions.raise_compiler_error("Invalid value for var 'raw_data_dir': reading a folder of files is supported on the duckdb target only (target is " ~ target.type ~ "). Accepted values: null on this target; load the files into a schema and set raw_schema instead.") }}
    {%- endif -%}
    select 1 as vars_checked
{% endmacro %}


{% macro clv_horizon_years_max() %}
    {#- The longest clv_horizon_years accepted: also the length of the year series of the discounted CLV. -#}
    {{ return(100) }}
{% endmacro %}


{% macro clv_builtin_segment_dimensions() %}
    {{ return(['acquisition_channel', 'country', 'cohort_year']) }}
{% endmacro %}


{% macro clv_custom_segment_columns() %}
    {#- The segment_dimensions that are the shop's own customer columns, carried from raw customers to
        int_customers_summarised as text ('unknown' where absent). -#}
    {{ return(clv_var('segment_dimensions') | reject('in', clv_builtin_segment_dimensions()) | list) }}
{% endmacro %}


{% macro clv_customer_summary_columns() %}
    {#- Columns of int_customers_summarised that a custom segment column may not shadow. -#}
    {{ return(['first_purchase_date', 'last_purchase_date', 'purchases', 'revenue', 'cogs', 'gross_profit', 'window_orders',
               'window_revenue', 'window_cogs', 'is_active_in_window', 'is_active_in_prior_window', 'is_new_in_window',
               'cohort_month', 'tenure_days', 'recency_days', 'avg_days_between_purchases', 'segment_dimension',
               'segment_value'] + clv_prediction_columns()) }}
{% endmacro %}


{% macro clv_personal_columns(table_name) %}
    {#- Columns of a raw table that hold personal data (the raw contract marks customers.email): they
        never leave staging, and a quarantined row's content shows them redacted. -#}
    {{ return({'customers': ['email']}.get(table_name, [])) }}
{% endmacro %}


{% macro clv_uses_demo_seeds() %}
    {{ return(clv_var('raw_data_dir') is none and clv_var('raw_schema') is none) }}
{% endmacro %}


{% macro clv_prediction_columns() %}
    {#- The per-customer outputs of the predictive models that customer_clv and segment_clv publish. -#}
    {{ return(['p_alive', 'expected_purchases_30d', 'expected_purchases_90d', 'expected_purchases_365d',
               'expected_purchases_horizon', 'expected_spend_per_purchase', 'predicted_clv']) }}
{% endmacro %}
