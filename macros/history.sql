{#
    The history marts (models/marts/history, clv_model_parameters_history) hold this run's as-of; their
    meta history_key tells the publish step (scripts/publish.py) to keep the earlier published as-ofs beside
    them. See docs/decisions.md, "History".
#}

{% macro clv_run_id() -%}
    {#- The dbt invocation id of this run: the run_id of clv_publish_log's row when the run is published. -#}
    cast('{{ invocation_id }}' as {{ dbt.type_string() }})
{%- endmacro %}

