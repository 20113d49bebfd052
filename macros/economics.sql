{% macro clv_cogs(orders, parameters) -%}
    {#- COGS of a priced order (docs/definitions.md, "Order economics"): the cost of its lines, or, where
        that is estimated (no line, or a line without a cost), net revenue x (1 - default_gross_margin). -#}
    case
        when {{ orders }}.is_cogs_estimated then {{ orders }}.net_revenue * (1 - {{ parameters }}.default_gross_margin)
        else {{ orders }}.items_cogs
    end
{%- endmacro %}


{% macro clv_fx_rate_lookup(relation, day, fx_rates) -%}
    {#- The rows of `relation` (with a currency column) and their fx_rate: 1.0 in the reporting currency,
        else the rate of `fx_rates` (clean rates with rate_date and next_rate_date) in force on `day`;
        null when no rate covers the day. The base models of orders and spend use it. -#}
    select
        {{ relation }}.*,
        case
            when {{ relation }}.currency = '{{ clv_var("reporting_currency") }}' then 1.0
            else {{ fx_rates }}.rate_to_reporting
        end as fx_rate
    from {{ relation }}
    left join {{ fx_rates }}
        on
            {{ relation }}.currency = {{ fx_rates }}.currency
            and {{ day }} >= {{ fx_rates }}.rate_date
            and {{ day }} < {{ fx_rates }}.next_rate_date
{%- endmacro %}


{% macro clv_ltv_cac_health(ltv, cac) %}
    {#- The LTV/CAC health label (docs/definitions.md, "Segment CLV"): the heuristic's and the predictive one's. -#}
    case
        when {{ cac }} is null or {{ ltv }} is null then 'unknown'
        when {{ ltv }} >= 3 * {{ cac }} then 'healthy'
        when {{ ltv }} >= {{ cac }} then 'marginal'
        else 'unprofitable'
    end
{% endmacro %}
