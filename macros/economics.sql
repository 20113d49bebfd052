{% macro clv_cogs(orders, parameters) -%}
    {#- COGS of a priced order (docs/definitions.md, "Order economics"): the cost of its lines, or, where
        that is estimated (no line, or a line without a cost), net revenue x (1 - default_gross_margin). -#}
    case
        when {{ orders }}.is_cogs_estimated then {{ orders }}.net_revenue * (1 - {{ parameters }}.default_gross_margin)
        else {{ orders }}.items_cogs
    end
{%- endmacro %}
