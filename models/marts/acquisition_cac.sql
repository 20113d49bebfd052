-- Grain: acquisition_channel x month_start. Acquisition spend, new customers and CAC per channel and month, up to as_of.
with

marketing_spend as (

    select * from {{ ref('stg_raw__marketing_spend') }}

),

customers as (

    select * from {{ ref('int_customers_summarised') }}

),

parameters as (

    select * from {{ ref('int_parameters') }}

),

spend_monthly as (

    select
        marketing_spend.channel as acquisition_channel,
        cast({{ dbt.date_trunc('month', 'marketing_spend.spend_date') }} as date) as month_start,
        sum(marketing_spend.amount_reporting) as acquisition_spend
    from marketing_spend
    cross join parameters
    where marketing_spend.spend_date <= parameters.as_of_date
    group by
        marketing_spend.channel,
        cast({{ dbt.date_trunc('month', 'marketing_spend.spend_date') }} as date)

),

new_customers_monthly as (

    select
        acquisition_channel,
        cohort_month as month_start,
        count(*) as new_customers
    from customers
    group by
        acquisition_channel,
        cohort_month

),

channel_months as (

    select
        acquisition_channel,
        month_start
    from spend_monthly
    union all
    select
        acquisition_channel,
        month_start
    from new_customers_monthly

),

channel_months_distinct as (

    select distinct
        acquisition_channel,
        month_start
    from channel_months

),

spend_data as (

    select count(*) as spend_rows from marketing_spend

),

channel_months_measured as (

    select
        channel_months_distinct.acquisition_channel,
        channel_months_distinct.month_start,
        {{ clv_channel_spend(
            'channel_months_distinct.acquisition_channel', 'spend_monthly.acquisition_spend', 'spend_data.spend_rows'
        ) }} as acquisition_spend,
        coalesce(new_customers_monthly.new_customers, 0) as new_customers
    from channel_months_distinct
    cross join spend_data
    left join spend_monthly
        on
            channel_months_distinct.acquisition_channel = spend_monthly.acquisition_channel
            and channel_months_distinct.month_start = spend_monthly.month_start
    left join new_customers_monthly
        on
            channel_months_distinct.acquisition_channel = new_customers_monthly.acquisition_channel
            and channel_months_distinct.month_start = new_customers_monthly.month_start

),

final as (

    select
        acquisition_channel,
        month_start,
        acquisition_spend,
        cast(new_customers as {{ dbt.type_bigint() }}) as new_customers,
        acquisition_spend / nullif(new_customers, 0) as cac
    from channel_months_measured

)

select * from final
