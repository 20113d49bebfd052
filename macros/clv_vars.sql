{#
    The one place where the project's vars are defined, defaulted and validated (docs/definitions.md, "Configuration").
    Models read a var with clv_var('name'); a bad value stops the build with a message naming the
    var and the values it accepts. clv_validate_vars() runs as the first on-run-start hook.
#}

{% macro clv_var_spec() %}
    {#-
        One entry per var: its default, its kind (which check applies), the kind's bounds or choices, and
        what it means. `accepted` is what the error message says. The README's Configuration table and
        docs/definitions.md, "Configuration", describe the same vars.
    -#}
    {%- set date_text = 'a date as YYYY-MM-DD (e.g. 2025-12-31)' -%}
    {{ return({
        'as_of_date': {'default': none, 'kind': 'date', 'accepted': date_text ~ ', or null for the latest clean order date',
                       'doc': 'metrics use purchases dated on or before it'},
        'as_of_period': {'default': 'day', 'kind': 'choice', 'choices': ['day', 'week', 'month'],
                         'doc': 'without as_of_date: the as-of is the latest clean order date (day), or the last Sunday (week) or month end (month) on or before it'},
        'history_snapshot_period': {'default': 'month', 'kind': 'choice', 'choices': ['day', 'week', 'month'],
                                    'doc': 'customer_clv_history keeps a snapshot of the runs whose as-of ends such a period'},
        'observation_window_months': {'default': 12, 'kind': 'integer', 'min': 1, 'max': 120,
                                      'doc': 'length of the observation window W (and of W0 before it)'},
        'reporting_currency': {'default': 'USD', 'kind': 'currency', 'accepted': 'a three-letter ISO 4217 currency code (e.g. USD)',
                               'doc': 'the currency FX rates convert into'},
        'discount_rate': {'default': 0.10, 'kind': 'number', 'min': 0, 'max': 1, 'max_excluded': true,
                          'accepted': 'a number in [0, 1) (an annual rate as a fraction, e.g. 0.10)', 'doc': 'annual rate of the NPV'},
        'clv_horizon_years': {'default': 10, 'kind': 'integer', 'min': 1, 'max': clv_horizon_years_max(),
                              'doc': 'years summed in the discounted CLV'},
        'max_lifetime_years': {'default': 10, 'kind': 'number', 'min': 0, 'min_excluded': true, 'max': 100,
                               'accepted': 'a number > 0 and <= 100', 'doc': 'cap on 1 / churn'},
        'default_gross_margin': {'default': 0.40, 'kind': 'number', 'min': 0, 'max': 1,
                                 'accepted': 'a number in [0, 1] (a fraction, e.g. 0.40)', 'doc': 'margin where no line cost exists'},
        'margin_method': {'default': 'items', 'kind': 'choice', 'choices': ['items', 'inventory', 'fixed'],
                          'doc': 'how gross margin is measured'},
        'segment_dimensions': {'default': clv_builtin_segment_dimensions(), 'kind': 'columns',
                               'doc': 'customer columns to segment by; all/all is always there'},
        'overdue_factor': {'default': 2.0, 'kind': 'number', 'min': 0, 'min_excluded': true,
                           'accepted': 'a number > 0 (e.g. 2.0)', 'doc': 'churn-risk threshold in average gaps'},
        'time_unit': {'default': 'week', 'kind': 'choice', 'choices': ['day', 'week'], 'doc': 'time unit of the BG/NBD model'},
        'purchase_model': {'default': 'auto', 'kind': 'choice', 'choices': ['auto', 'bg_nbd', 'mbg_nbd', 'pareto_nbd'],
                           'doc': 'purchase model of the predictions (auto: the best holdout error, ties to bg_nbd)'},
        'refit': {'default': 'always', 'kind': 'choice', 'choices': ['always', 'weekly', 'monthly', 'never'],
                  'doc': 'when the predictive models are fitted again: every run (always), or when the last published fit is 7 (weekly) or 28 (monthly) days old or never; between refits its parameters, covariance and model choice are reused'},
        'refit_growth': {'default': 0.10, 'kind': 'number', 'min': 0, 'min_excluded': true, 'max': 100,
                         'accepted': 'a number > 0 (a fraction, e.g. 0.10)',
                         'doc': 'a refit also happens when the customers in the fit changed by more than this fraction since the last fit'},
        'holdout_months': {'default': 6, 'kind': 'integer', 'min': 1, 'max': 120, 'doc': 'backtest holdout length'},
        'diagnostic_max_frequency': {'default': 7, 'kind': 'integer', 'min': 1, 'max': 1000,
                                     'doc': 'top repeat-purchase count of the predictive diagnostics (higher counts join its row)'},
        'incremental_lookback_days': {'default': 3, 'kind': 'integer', 'min': 0, 'max': 3650,
                                      'doc': 'days before the newest loaded date that an incremental run recomputes'},
        'max_plausible_amount': {'default': 1000000000000, 'kind': 'number', 'min': 1, 'max': 1e300,
                                 'accepted': 'a number from 1 to 1e300 (the largest amount, count or rate a raw row may hold, e.g. 1e12)',
                                 'doc': 'larger amounts are quarantined as implausible_amount'},
        'max_quarantined_share': {'default': 0.5, 'kind': 'number', 'min': 0, 'max': 1,
                                  'accepted': 'a number in [0, 1] (a fraction of a raw table, e.g. 0.5)',
                                  'doc': 'a raw table with a larger share of rows quarantined for a reason of their own fails the audit: nothing is published'},
        'future_date_cutoff': {'default': none, 'kind': 'date', 'accepted': date_text ~ ', or null for the date of the run',
                               'doc': 'dates after it are quarantined as future_dated'},
        'enable_predictive': {'default': target.type == 'duckdb', 'kind': 'boolean', 'structural': true,
                              'doc': 'build the BG/NBD + Gamma-Gamma branch (dbt Python models)'},
        'raw_data_dir': {'default': none, 'kind': 'text', 'structural': true, 'doc': 'folder of raw CSV/Parquet files'},
        'raw_schema': {'default': none, 'kind': 'text', 'structural': true, 'doc': 'warehouse schema of the raw tables'},
        'raw_database': {'default': none, 'kind': 'text', 'structural': true, 'doc': 'warehouse database of the raw tables'},
        'raw_identifiers': {'default': {}, 'kind': 'identifiers', 'structural': true,
                            'accepted': 'a mapping from raw table names (' ~ (clv_raw_tables() | join(', ')) ~ ') to the names of the tables (or files) that hold them, e.g. {orders: shop_orders}; with raw_schema or raw_data_dir',
                            'doc': 'names of the raw tables (or files) where they differ from the contract names'},
        'raw_models': {'default': {}, 'kind': 'identifiers', 'structural': true,
                       'accepted': 'a mapping from raw table names (' ~ (clv_raw_tables() | join(', ')) ~ ') to dbt models or seeds of your project that hold them, e.g. {orders: shop_orders}',
                       'doc': 'dbt models or seeds (read with ref) that hold raw tables, in place of the raw source'},
        'raw_file_encoding': {'default': 'utf-8', 'kind': 'encoding', 'structural': true,
                              'choices': ['utf-8', 'utf-16', 'latin-1'], 'doc': 'encoding of the raw CSV files'},
    }) }}
{% endmacro %}


{% macro clv_var_defaults() %}
    {%- set defaults = {} -%}
    {%- for name, spec in clv_var_spec().items() -%}{%- do defaults.update({name: spec.default}) -%}{%- endfor -%}
    {{ return(defaults) }}
{% endmacro %}


{% macro clv_structural_vars() %}
    {#- Vars that say where the raw data is and what is built, not how a number is computed. -#}
    {{ return(clv_var_spec().items() | selectattr('1.structural') | map(attribute='0') | list) }}
{% endmacro %}


{% macro clv_var(name) %}
    {#-
        A dbt unit test states its inputs: inside one, every var that changes numbers takes its default
        unless the test pins it under `overrides: vars`, whatever the run passes with --vars. A test
        written for USD reporting and a 12-month window then holds on a build in EUR with a 6-month
        window. Vars that locate the raw data (clv_structural_vars) keep the run's value.
    -#}
    {%- set spec = clv_var_spec() -%}
    {%- if name not in spec -%}
        {{ exceptions.raise_compiler_error("clv_var: unknown var '" ~ name ~ "'. Known vars: " ~ (spec.keys() | list | join(', '))) }}
    {%- endif -%}
    {%- set default = spec[name].default -%}
    {%- if model is defined and model is not none and model.resource_type == 'unit_test' and not spec[name].structural -%}
        {%- set pinned = (model.overrides.vars if model.overrides and model.overrides.vars else {}) -%}
        {{ return(_clv_check_var(name, pinned[name] if name in pinned else default, spec[name])) }}
    {%- endif -%}
    {{ return(_clv_check_var(name, var(name, default), spec[name])) }}
{% endmacro %}


{% macro _clv_fail(name, value, accepted) %}
    {{ exceptions.raise_compiler_error("Invalid value for var '" ~ name ~ "': " ~ (value | string) ~ ". Accepted values: " ~ accepted ~ ".") }}
{% endmacro %}


{% macro _clv_is_null(value) %}
    {{ return(value is none or (value | string | trim) in ('', 'none', 'None', 'null')) }}
{% endmacro %}


{% macro _clv_check_var(name, value, spec) %}
    {#- The one checker: the var's kind says which check applies; returns the clean value. -#}
    {%- set kind = spec.kind -%}
    {%- if kind == 'integer' -%}
        {%- set accepted = 'a whole number from ' ~ spec.min ~ ' to ' ~ spec.max -%}
        {%- set text = value | string | trim -%}
        {%- if value is boolean or value is none or not modules.re.match('^[+]?[0-9]+$', text) -%}{{ _clv_fail(name, value, accepted) }}{%- endif -%}
        {%- set number = text | int -%}
        {%- if number < spec.min or number > spec.max -%}{{ _clv_fail(name, value, accepted) }}{%- endif -%}
        {{ return(number) }}
    {%- elif kind == 'number' -%}
        {#- Numbers may arrive as YAML numbers or as strings; booleans are not numbers. -#}
        {%- set text = value | string | trim -%}
        {%- if value is boolean or value is none or not modules.re.match('^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$', text) -%}
            {{ _clv_fail(name, value, spec.accepted) }}
        {%- endif -%}
        {%- set number = text | float -%}
        {%- if spec.min is defined and (number < spec.min or (spec.min_excluded and number == spec.min)) -%}{{ _clv_fail(name, value, spec.accepted) }}{%- endif -%}
        {%- if spec.max is defined and (number > spec.max or (spec.max_excluded and number == spec.max)) -%}{{ _clv_fail(name, value, spec.accepted) }}{%- endif -%}
        {{ return(number) }}
    {%- elif kind == 'date' -%}
        {%- if _clv_is_null(value) -%}{{ return(none) }}{%- endif -%}
        {#- a calendar date as YYYY-MM-DD (YAML may already have parsed it into a date) -#}
        {%- set text = value | string | trim -%}
        {%- set match = modules.re.match('^([0-9]{4})-([0-9]{2})-([0-9]{2})$', text) -%}
        {%- if not match -%}{{ _clv_fail(name, value, spec.accepted) }}{%- endif -%}
        {%- set year, month, day = match.group(1) | int, match.group(2) | int, match.group(3) | int -%}
        {%- if year < 1 or month < 1 or month > 12 or day < 1 -%}{{ _clv_fail(name, value, spec.accepted) }}{%- endif -%}
        {%- set next_month = modules.datetime.date(year + (1 if month == 12 else 0), 1 if month == 12 else month + 1, 1) -%}
        {%- if day > (next_month - modules.datetime.timedelta(days=1)).day -%}{{ _clv_fail(name, value, spec.accepted) }}{%- endif -%}
        {{ return(text) }}
    {%- elif kind == 'choice' -%}
        {%- set text = value | string | trim | lower -%}
        {%- if text not in spec.choices -%}{{ _clv_fail(name, value, spec.choices | join(', ')) }}{%- endif -%}
        {{ return(text) }}
    {%- elif kind == 'encoding' -%}
        {#- what DuckDB's CSV reader decodes without an extension download, under its common spellings -#}
        {%- set text = value | string | trim | lower | replace('_', '-') -%}
        {%- set text = {'utf8': 'utf-8', 'utf16': 'utf-16', 'latin1': 'latin-1', 'iso-8859-1': 'latin-1'}.get(text, text) -%}
        {%- if text not in spec.choices -%}{{ _clv_fail(name, value, spec.choices | join(', ')) }}{%- endif -%}
        {{ return(text) }}
    {%- elif kind == 'currency' -%}
        {%- set text = value | string | trim | upper -%}
        {%- if not modules.re.match('^[A-Z]{3}$', text) -%}{{ _clv_fail(name, value, spec.accepted) }}{%- endif -%}
        {{ return(text) }}
    {%- elif kind == 'boolean' -%}
        {%- if value is boolean -%}{{ return(value) }}{%- endif -%}
        {%- set text = value | string | trim | lower -%}
        {%- if text not in ('true', 'false') -%}{{ _clv_fail(name, value, 'true, false') }}{%- endif -%}
        {{ return(text == 'true') }}
    {%- elif kind == 'columns' -%}
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
    {%- elif kind == 'identifiers' -%}
        {#- table name -> identifier; every key a raw table of the contract, every identifier a plain table name -#}
        {%- if _clv_is_null(value) -%}{{ return({}) }}{%- endif -%}
        {%- if value is not mapping -%}{{ _clv_fail(name, value, spec.accepted) }}{%- endif -%}
        {%- set cleaned = {} -%}
        {%- for table, identifier in value.items() -%}
            {%- set text = identifier | string -%}
            {%- if table not in clv_raw_tables() or identifier is none or not modules.re.match('^[A-Za-z_][A-Za-z0-9_]{0,62}$', text) -%}
                {{ _clv_fail(name, value, spec.accepted) }}
            {%- endif -%}
            {%- do cleaned.update({table: text}) -%}
        {%- endfor -%}
        {{ return(cleaned) }}
    {%- else -%}
        {#- text (raw_data_dir, raw_schema, raw_database): free text, checked where it is used -#}
        {{ return(none if _clv_is_null(value) else (value | string | trim)) }}
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
    {%- if clv_var('raw_identifiers') and clv_var('raw_data_dir') is none and clv_var('raw_schema') is none -%}
        {{ exceptions.raise_compiler_error("Invalid value for var 'raw_identifiers': " ~ (clv_var('raw_identifiers') | string) ~ " names the tables of raw_schema (or the files of raw_data_dir), but neither is set. Accepted values: {} without them; set raw_schema (or raw_data_dir) to where your tables are, or name your dbt models or seeds in raw_models.") }}
    {%- endif -%}
    {%- set twice = clv_var('raw_identifiers').keys() | select('in', clv_var('raw_models').keys()) | list -%}
    {%- if twice -%}
        {{ exceptions.raise_compiler_error("Invalid value for var 'raw_models': " ~ (twice | join(', ')) ~ " is also in raw_identifiers. Accepted values: each raw table in one of them (raw_models: a dbt model or seed of your project; raw_identifiers: a table of raw_schema).") }}
    {%- endif -%}
    {%- if clv_is_package() and clv_var('raw_data_dir') is none and clv_var('raw_schema') is none and not clv_var('raw_models') -%}
        {{ exceptions.raise_compiler_error("The clv package is installed in the project " ~ project_name ~ " but no raw data is configured: set the var raw_schema (and raw_database, raw_identifiers where your tables are elsewhere or named otherwise) or raw_models (your dbt models or seeds holding them) under `vars: clv:` in " ~ project_name ~ "'s dbt_project.yml (README, \"Use it in your dbt project\"). The package never loads its demo seeds into a host project.") }}
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


{% macro clv_is_package() %}
    {#- True when this project runs as a package of another dbt project (a host), whose name dbt gives as
        project_name. -#}
    {{ return(project_name != 'clv') }}
{% endmacro %}


{% macro clv_uses_demo_seeds() %}
    {#- The raw source is the demo seeds: the project runs on its own, and no var points at other raw data. -#}
    {{ return(not clv_is_package() and clv_var('raw_data_dir') is none and clv_var('raw_schema') is none and not clv_var('raw_models')) }}
{% endmacro %}


{% macro clv_prediction_columns() %}
    {#- The per-customer outputs of the predictive models that customer_clv publishes. -#}
    {{ return(['p_alive', 'expected_purchases_30d', 'expected_purchases_90d', 'expected_purchases_365d',
               'expected_purchases_365d_lower_90', 'expected_purchases_365d_upper_90',
               'expected_purchases_horizon', 'expected_spend_per_purchase', 'predicted_clv',
               'predicted_clv_lower_90', 'predicted_clv_upper_90']) }}
{% endmacro %}


{% macro clv_segment_prediction_columns() %}
    {#- The per-segment outputs of the predictive models that segment_clv publishes. -#}
    {{ return(['predicted_clv_per_customer', 'predicted_clv_per_customer_lower_90',
               'predicted_clv_per_customer_upper_90', 'predicted_clv_total', 'predicted_ltv_per_new_customer',
               'predicted_ltv_per_new_customer_lower_90', 'predicted_ltv_per_new_customer_upper_90']) }}
{% endmacro %}
