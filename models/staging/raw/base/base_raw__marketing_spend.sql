-- Every raw marketing_spend row, typed, with its quarantine reason (docs/definitions.md, "Bad input").
-- Cross-table checks: the FX rate of the spend date (stg_raw__fx_rates).
{%- if clv_uses_demo_seeds() %}
-- depends_on: {{ ref('marketing_spend') }} (the demo seed, loaded by the same dbt build)
{%- endif %}
{% set raw_columns = ['spend_date', 'channel', 'amount', 'currency'] -%}

with

source as (

    {{ raw_source_select(
        source('raw', 'marketing_spend'), 'marketing_spend', raw_columns,
        required_columns=['spend_date', 'channel', 'amount']
    ) }}

),

fx_rates as (

    select * from {{ ref('stg_raw__fx_rates') }}

),

rows_described as (

    select
        *,
        {{ clv_raw_row(raw_columns) }} as raw_row,
        {{ clv_raw_key(['spend_date', 'channel']) }} as raw_key
    from source

),

rows_checked as (

    select
        *,
        {{ clv_row_checks([]) }}
    from rows_described

),

typed as (

    select
        {{ clv_try_date('spend_date') }} as spend_date,
        lower(channel) as channel,
        {{ clv_try_number('amount') }} as amount,
        coalesce(upper(currency), '{{ clv_var("reporting_currency") }}') as currency,
        raw_key,
        raw_row,
        malformed_line,
        copy_number
    from rows_checked

),

fx_looked_up as (

    select
        typed.*,
        case
            when typed.currency = '{{ clv_var("reporting_currency") }}' then 1.0
            else fx_rates.rate_to_reporting
        end as fx_rate
    from typed
    left join fx_rates
        on
            typed.currency = fx_rates.currency
            and typed.spend_date >= fx_rates.rate_date
            and typed.spend_date < fx_rates.next_rate_date

),

reasoned as (

    select
        {{ dbt.hash("raw_row") }} as spend_id,
        spend_date,
        channel,
        amount,
        currency,
        fx_rate,
        raw_key,
        raw_row,
        copy_number,
        case
            when malformed_line is not null then 'malformed_row'
            when copy_number > 1 then 'duplicate_row'
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
        spend_id,
        spend_date,
        channel,
        amount,
        currency,
        fx_rate,
        raw_key,
        {{ clv_raw_row_if_quarantined() }},
        copy_number,
        quarantine_reason
    from reasoned

)

select * from final
