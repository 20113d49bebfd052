-- Every raw fx_rates row, typed, with its quarantine reason (docs/definitions.md, "Bad input").
-- Cross-table checks: none.
{%- if clv_uses_demo_seeds() %}
-- depends_on: {{ ref('fx_rates') }} (the demo seed, loaded by the same dbt build)
{%- endif %}
{% set raw_columns = ['rate_date', 'currency', 'rate_to_reporting'] -%}

with

source as (

    {{ raw_source_select(clv_raw_relation('fx_rates'), 'fx_rates', raw_columns, required_columns=raw_columns) }}

),

typed as (

    select
        {{ clv_try_date('rate_date') }} as rate_date,
        upper(currency) as currency,
        {{ clv_try_number('rate_to_reporting') }} as rate_to_reporting,
        {{ clv_checked_columns() }}
    from ({{ clv_checked_rows('source', raw_columns, key=['rate_date', 'currency']) }}) as checked

),

rules as (

    select
        *,
        case
            {{ clv_row_reasons('conflicting_fx_rate') }}
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
        -- a clean rate holds until the next clean rate of its currency (the orders and the spend
        -- of those days convert at it)
        case
            when quarantine_reason is null
                then
                    coalesce(
                        lead(rate_date) over (partition by currency, quarantine_reason order by rate_date),
                        {{ clv_date_literal('9999-12-31') }}
                    )
        end as next_rate_date,
        {{ clv_quarantine_columns() }}
    from rules

)

select * from final
