-- Every raw fx_rates row, typed, with its quarantine reason (docs/definitions.md, "Bad input").
-- Cross-table checks: none.
{%- if clv_uses_demo_seeds() %}
-- depends_on: {{ ref('fx_rates') }} (the demo seed, loaded by the same dbt build)
{%- endif %}
{% set raw_columns = ['rate_date', 'currency', 'rate_to_reporting'] -%}

with

source as (

    {{ raw_source_select(source('raw', 'fx_rates'), 'fx_rates', raw_columns, required_columns=raw_columns) }}

),

rows_described as (

    select
        *,
        {{ clv_raw_row(raw_columns) }} as raw_row,
        {{ clv_raw_key(['rate_date', 'currency']) }} as raw_key
    from source

),

rows_checked as (

    select
        *,
        {{ clv_row_checks(['rate_date', 'currency']) }}
    from rows_described

),

typed as (

    select
        {{ clv_try_date('rate_date') }} as rate_date,
        upper(currency) as currency,
        {{ clv_try_number('rate_to_reporting') }} as rate_to_reporting,
        raw_key,
        raw_row,
        malformed_line,
        copy_number,
        has_conflicting_key
    from rows_checked

),

reasoned as (

    select
        rate_date,
        currency,
        rate_to_reporting,
        raw_key,
        raw_row,
        copy_number,
        case
            when malformed_line is not null then 'malformed_row'
            when copy_number > 1 then 'duplicate_row'
            when has_conflicting_key then 'conflicting_fx_rate'
            when currency is null then 'null_currency'
            when rate_date is null then 'unparseable_timestamp'
            when rate_to_reporting is null then 'unparseable_number'
            when {{ clv_is_implausible(['rate_to_reporting']) }} then 'implausible_amount'
            when rate_to_reporting <= 0 then 'negative_amount'
            when rate_date > {{ clv_future_cutoff() }} then 'future_dated'
        end as quarantine_reason
    from typed

),

final as (

    select
        rate_date,
        currency,
        rate_to_reporting,
        raw_key,
        {{ clv_raw_row_if_quarantined() }},
        copy_number,
        quarantine_reason
    from reasoned

)

select * from final
