{% macro clv_channel_spend(channel, spend, spend_rows) -%}
    {#- The acquisition spend attributed to a channel (the one statement of the rule, used by
        int_segments_windowed and acquisition_cac): null when there is no spend data at all; null for
        the `unknown` channel, whose customers cannot be matched to spend (no CAC rather than a free
        one); else the channel's spend, 0 when it had none. -#}
    case
        when {{ spend_rows }} = 0 or {{ channel }} = 'unknown' then null
        else coalesce({{ spend }}, 0)
    end
{%- endmacro %}
