-- Grain: as_of_date x segment_dimension x segment_value. The headline numbers of segment_clv, heuristic and
-- predicted, of this run's as-of. The publish step keeps the earlier as-ofs beside them on the published side
-- (meta history_key: a re-run of an as-of replaces its rows; docs/decisions.md, "History").
{{ config(meta={'history_key': 'as_of_date'}) }}

with

segments as (

    select * from {{ ref('segment_clv') }}

),

final as (

    select
        segments.as_of_date,
        segments.segment_dimension,
        segments.segment_value,
        segments.customers,
        segments.active_customers,
        segments.orders,
        segments.revenue,
        segments.aov,
        segments.purchase_frequency,
        segments.gross_margin,
        segments.retention_rate,
        segments.churn_rate,
        segments.expected_lifetime_years,
        segments.clv_revenue,
        segments.clv_margin,
        segments.clv_discounted,
        segments.new_customers,
        segments.acquisition_spend,
        segments.cac,
        segments.ltv_to_cac_ratio,
        segments.ltv_cac_health,
        segments.predicted_clv_per_customer,
        segments.predicted_clv_per_customer_lower_90,
        segments.predicted_clv_per_customer_upper_90,
        segments.predicted_ltv_per_new_customer,
        segments.predicted_ltv_to_cac_ratio,
        segments.predicted_ltv_cac_health,
        {{ clv_run_id() }} as run_id
    from segments

)

select * from final
