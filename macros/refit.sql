{#
    The refit policy (var refit; docs/definitions.md, "Refit policy"): the last published fit is reused only
    under the same fit settings (int_parameters.fit_settings). See docs/decisions.md #38.
#}

{% macro clv_fit_settings() -%}
    {#- The settings a predictive fit depends on, as text (int_parameters.fit_settings): where the raw data is, the
        currency, the time unit, the holdout and purchase_model. A published fit is reused (var refit) only under the same ones. -#}
    {%- set parts = [] -%}
    {%- for name in ['raw_data_dir', 'raw_schema', 'raw_database', 'raw_identifiers', 'raw_models', 'reporting_currency', 'time_unit', 'holdout_months', 'purchase_model'] -%}
        {%- do parts.append(name ~ '=' ~ (clv_var(name) | string)) -%}
    {%- endfor -%}
    {{ parts | join('; ') | replace("'", "") }}
{%- endmacro %}
