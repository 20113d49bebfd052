{% macro clv_log_model_fit(relation) %}
    {#-
        After clv_model_parameters is built: say in the build log whether this run fitted the models or reused
        the published fit (var refit) and why, which purchase model the predictions use and why, and which fit
        did not converge and why.
    -#}
    {%- if execute -%}
        {%- set refits = run_query("select distinct refit_reason from " ~ relation) -%}
        {%- for row in refits.rows -%}
            {{ log("CLV predictive fit: " ~ row[0], info=true) }}
        {%- endfor -%}
        {%- set chosen = run_query("select distinct model, selection_reason from " ~ relation ~ " where is_selected") -%}
        {%- for row in chosen.rows -%}
            {{ log("CLV purchase model: " ~ row[0] ~ " (" ~ row[1] ~ ")", info=true) }}
        {%- endfor -%}
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


{% macro clv_quadratic_form(vector, matrix) %}
    {#-
        v' M v: vector is a list of SQL expressions v_1 .. v_k, matrix the prefix of columns <matrix>_<i>_<j>
        (1-based, symmetric): the delta-method variance of a prediction from its sensitivities to the
        log-parameters and their covariance.
    -#}
    {%- set terms = [] -%}
    {%- for i in range(vector | length) -%}
        {%- for j in range(vector | length) -%}
            {%- do terms.append(vector[i] ~ ' * ' ~ vector[j] ~ ' * ' ~ matrix ~ '_' ~ (i + 1) ~ '_' ~ (j + 1)) -%}
        {%- endfor -%}
    {%- endfor -%}
    ({{ terms | join('\n        + ') }})
{% endmacro %}


{% macro clv_log_covariance_matrices(fitted, selected) %}
    {#-
        One row per fit of int_clv_models_fitted (the relation `fitted`): the covariance of the log-parameters
        of the purchase model in `selected` (int_purchase_models_selected's selected row) as columns
        purchase_covariance_<i>_<j> (i, j = 1 .. 4) and of the Gamma-Gamma ones as gamma_gamma_covariance_<i>_<j>
        (1 .. 3).
    -#}
    select
        {%- for role, condition, size in [
            ('purchase', 'selected.model is not null', 4), ('gamma_gamma', "fits.model = 'gamma_gamma'", 3)
        ] %}
            {%- for i in range(1, size + 1) %}
                {%- for j in range(1, size + 1) %}
                    max(
                        case
                            when {{ condition }} and fits.parameter_index = {{ i }} then fits.log_covariance_{{ j }}
                        end
                    ) as {{ role }}_covariance_{{ i }}_{{ j }},
                {%- endfor %}
            {%- endfor %}
        {%- endfor %}
        fits.fit
    from {{ fitted }} as fits
    left join {{ selected }} as selected
        on fits.model = selected.model
    group by fits.fit
{% endmacro %}


{% macro clv_numbered_columns(prefix, count) %}
    {#- [prefix1, prefix2, .. prefix<count>]: the columns of a vector numbered from 1 (e.g. elasticities). -#}
    {%- set columns = [] -%}
    {%- for k in range(1, count + 1) -%}{%- do columns.append(prefix ~ k) -%}{%- endfor -%}
    {{ return(columns) }}
{% endmacro %}


{% macro clv_interval_90(value, log_variance, side) %}
    {#-
        An end (side 'lower' or 'upper') of the 90% interval of a prediction from the variance of its logarithm:
        value x exp(-+1.645 sd), reversed for a negative value (a customer or segment that loses money).
    -#}
    {%- set sign = '-1' if side == 'lower' else '1' -%}
    {{ value }} * exp(
        case when {{ value }} < 0 then -({{ sign }}) else {{ sign }} end * 1.6448536269514722 * sqrt({{ log_variance }})
    )
{% endmacro %}


{% macro clv_diagnostic_frequency(frequency) %}
    {#- A repeat-purchase count as a row of the predictive diagnostics: diagnostic_max_frequency and more in its row. -#}
    case
        when {{ frequency }} >= {{ clv_var('diagnostic_max_frequency') }} then {{ clv_var('diagnostic_max_frequency') }}
        else {{ frequency }}
    end
{% endmacro %}
