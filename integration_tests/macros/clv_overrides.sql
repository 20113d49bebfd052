{% macro duckdb__clv_median(expression) -%}
    {#- The host's own implementation of one of the package's cross-database macros, found through the
        dispatch config in dbt_project.yml: DuckDB's median() (the same value as the package's
        percentile_cont(0.5)). python_checks/test_package.py checks that the package's models compile with it. -#}
    median({{ expression }})
{%- endmacro %}
