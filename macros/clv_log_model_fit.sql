{% macro clv_log_model_fit(relation) %}
    {#- After clv_model_parameters is built: say in the build log which fit did not converge and why. -#}
    {%- if execute -%}
        {%- set rows = run_query("select distinct fit, model, convergence_message from " ~ relation ~ " where not is_converged order by 1, 2") -%}
        {%- for row in rows.rows -%}
            {{ log("CLV predictive model " ~ row[1] ~ " (" ~ row[0] ~ " fit) did not converge: " ~ row[2] ~ ". Its predictions are null; the rest of the project is unaffected.", info=true) }}
        {%- endfor -%}
    {%- endif -%}
    select 1 as logged
{% endmacro %}


{% macro clv_log_covariance(row, index) %}
    {#-
        The covariance of a row of int_clv_models_fitted's log-parameter estimate with the index-th
        parameter of its model (index: a column or a number, 1 .. 4): one of its columns
        log_covariance_1 .. log_covariance_4.
    -#}
    case {{ index }}
        {%- for k in range(1, 5) %}
            when {{ k }} then {{ row }}.log_covariance_{{ k }}
        {%- endfor %}
    end
{% endmacro %}
