{#
    The history marts (models/marts/history, clv_model_parameters_history) hold this run's as-of; their
    meta history_key tells the publish step (scripts/publish.py) to keep the earlier published as-ofs beside
    them. See docs/decisions.md, "History". The refit policy (var refit) reuses the last published fit
    under the same fit settings.
#}

{% macro clv_run_id() -%}
    {#- The dbt invocation id of this run: the run_id of clv_publish_log's row when the run is published. -#}
    cast('{{ invocation_id }}' as {{ dbt.type_string() }})
{%- endmacro %}


{% macro clv_fit_settings() -%}
    {#- The settings a predictive fit depends on, as text (int_parameters.fit_settings): where the raw data is, the
        currency, the time unit and the holdout. A published fit is reused (var refit) only under the same ones. -#}
    {%- set parts = [] -%}
    {%- for name in ['raw_data_dir', 'raw_schema', 'raw_database', 'raw_identifiers', 'raw_models', 'reporting_currency', 'time_unit', 'holdout_months', 'purchase_model'] -%}
        {%- do parts.append(name ~ '=' ~ (clv_var(name) | string)) -%}
    {%- endfor -%}
    {{ parts | join('; ') | replace("'", "") }}
{%- endmacro %}
