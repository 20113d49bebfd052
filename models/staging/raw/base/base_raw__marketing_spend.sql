-- Every raw marketing_spend row, typed, with its quarantine reason (docs/definitions.md, "Bad input").
-- Cross-table checks: the FX rate of the spend date (base_raw__fx_rates, its clean rates).
{%- if clv_uses_demo_seeds() %}
-- depends_on: {{ ref('marketing_spend') }} (the demo seed, loaded by the same dbt build)
{%- endif %}
{% set raw_columns = ['spend_date', 'channel', 'amount', 'currency'] -%}

with

source as (

    {{ raw_source_select(
        clv_raw_relation('marketing_spend'), 'marketing_spend', raw_columns,
        required_columns=['spend_date', 'channel', 'amount']
    ) }}

),

fx_rates as (

    select * from {{ ref('base_raw__fx_rates') }}
    where quarantine_reason is null

),

typed as (

    -- spend has no key: identical rows are copies, and (spend_date, channel) names a row in the quarantine
    select
        {{ clv_try_date('spend_date') }} as spend_date,
        lower(channel) as channel,
        {{ clv_try_number('amount') }} as amount,
        coalesce(upper(currency), '{{ clv_var("reporting_currency") }}') as currency,
        {{ clv_checked_columns() }}
    from ({{ clv_checked_rows('source', raw_columns, key=['spend_date', 'channel'], conflict_key=[]) }}) as checked

),

fx_looked_up as (

    {{ clv_fx_rate_lookup('typed', 'typed.spend_date', 'fx_rates') }}

),

rules as (

    select
        *,
        case
            {{ clv_row_reasons() }}
            when channel is null then 'null_channel'
            when spend_date is null then 'unparseable_timestamp'
            when amount is null then 'unparseable_number'
            when {{ clv_is_implausible(['amount', 'amount * fx_rate']) }} then 'implausible_amount'
            when amount < 0 then 'negative_amount'
            when fx_rate is null then 'missing_fx_rate'
            when spend_date > {{ clv_future_cutoff() }} then 'future_dated'
        end as quarantine_reason
    from fx_looked_up

),

final as (

    select
        {{ dbt.hash("raw_row") }} as spend_id,
        spend_date,
        channel,
        amount,
        currency,
        fx_rate,
        {{ clv_quarantine_columns() }}
    from rules

)

select * from final
