-- Grain: as_of_date x fit x model x parameter. clv_model_parameters of this run's as-of; the publish step keeps
-- the earlier as-ofs beside them on the published side (docs/decisions.md, "History").
{{ config(meta={'history_key': 'as_of_date'}) }}

with

parameters as (

    select * from {{ ref('clv_model_parameters') }}

),

final as (

    select
        parameters.as_of_date,
        parameters.fit,
        parameters.model,
        parameters.parameter,
        parameters.value,
        parameters.standard_error,
        parameters.lower_95,
        parameters.upper_95,
        parameters.log_likelihood,
        parameters.customers_used,
        parameters.is_converged,
        parameters.cutoff_date,
        parameters.is_selected,
        parameters.time_unit,
        parameters.fitted_as_of,
        parameters.is_refit,
        {{ clv_run_id() }} as run_id
    from parameters

)

select * from final
