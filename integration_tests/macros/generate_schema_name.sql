{% macro generate_schema_name(custom_schema_name, node) -%}
    {#- The host's schema naming, as many teams have it: a custom schema is used as named (shop_raw, clv),
        everything else goes to the target's schema. It applies to the package's models too. -#}
    {{ (custom_schema_name | trim) if custom_schema_name is not none else target.schema }}
{%- endmacro %}
