-- The audit of a delivery: a raw table with more than max_quarantined_share of its rows quarantined for a reason of
-- their own fails the build, so that no mart computed from what is left of it is published (docs/definitions.md,
-- "Bad input"). Reasons that depend on another table (missing_fx_rate, orphan_item, orphan_refund) do not count:
-- they follow from that table, which is audited itself.
with

reconciliation as (

    select * from {{ ref('data_quality_reconciliation') }}

),

quarantine as (

    select * from {{ ref('data_quality_quarantine') }}

),

unreadable as (

    select
        source_table,
        count(*) as unreadable_rows
    from quarantine
    where quarantine_reason not in ('missing_fx_rate', 'orphan_item', 'orphan_refund')
    group by source_table

),

final as (

    select
        reconciliation.source_table,
        reconciliation.raw_rows,
        unreadable.unreadable_rows,
        unreadable.unreadable_rows * 1.0 / reconciliation.raw_rows as unreadable_share,
        {{ clv_var('max_quarantined_share') }} as max_quarantined_share
    from reconciliation
    inner join unreadable
        on reconciliation.source_table = unreadable.source_table
    where unreadable.unreadable_rows > {{ clv_var('max_quarantined_share') }} * reconciliation.raw_rows

)

select * from final
