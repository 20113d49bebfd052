-- Grain: model (the purchase models). The model choice (docs/definitions.md, "Model choice"): the calibration fit
-- of each purchase model predicts the holdout purchases of the calibration customers (the backtest), and the var
-- purchase_model picks the model the predictions use: one by name, or auto, the lowest absolute relative error of
-- total holdout purchases among the models whose full and calibration fits converged, with BG/NBD kept when its
-- error is within one percentage point of the lowest (and when no model has an error).
{%- set purchase_model = clv_var('purchase_model') %}
with

histories as (

    select * from {{ ref('int_bgnbd_histories') }}
    where fit = 'calibration'

),

predicted as (

    select * from {{ ref('int_bgnbd_histories_predicted') }}
    where fit = 'calibration'

),

fitted as (

    select * from {{ ref('int_clv_models_fitted') }}
    where model <> 'gamma_gamma'

),

convergence as (

    -- a model qualifies when both its fits converged
    select
        model,
        min(case when is_converged then 1 else 0 end) = 1 as is_converged
    from fitted
    group by model

),

holdout as (

    select
        predicted.model,
        sum(histories.customers * predicted.expected_purchases_holdout) as predicted_purchases,
        count(*) - count(predicted.expected_purchases_holdout) as histories_unpredicted,
        sum(histories.holdout_purchases) as actual_purchases
    from histories
    inner join predicted
        on
            histories.frequency = predicted.frequency
            and histories.recency = predicted.recency
            and histories.customer_age = predicted.customer_age
    group by predicted.model

),

scored as (

    select
        convergence.model,
        convergence.is_converged,
        case when holdout.histories_unpredicted = 0 then holdout.predicted_purchases end as predicted_purchases,
        holdout.actual_purchases,
        case when holdout.histories_unpredicted = 0 then holdout.predicted_purchases end
        / nullif(holdout.actual_purchases, 0) - 1 as holdout_relative_error
    from convergence
    left join holdout
        on convergence.model = holdout.model

),

ranked as (

    select
        *,
        case when is_converged then abs(holdout_relative_error) end as eligible_error,
        row_number() over (
            order by
                case when is_converged and holdout_relative_error is not null then 0 else 1 end,
                abs(holdout_relative_error),
                case when model = 'bg_nbd' then 0 else 1 end,
                model
        ) as error_rank
    from scored

),

best as (

    select
        min(eligible_error) as best_error,
        max(case when error_rank = 1 then model end) as best_model,
        max(case when model = 'bg_nbd' then eligible_error end) as bg_nbd_error
    from ranked

),

labelled as (

    select
        best.*,
        {{ dbt.cast(clv_round('100 * best.best_error', 1), dbt.type_string()) }} as best_percent,
        coalesce({{ dbt.cast(clv_round('100 * best.bg_nbd_error', 1), dbt.type_string()) }}, 'none') as bg_nbd_percent
    from best

),

reused as (

    -- between refits (var refit) the published fit's model choice is kept with the fit
    select
        max(case when reused_is_selected then model end) as selected_model,
        max(
            case
                when reused_is_selected
                    then 'kept with the fit of ' || {{ dbt.cast('fitted_as_of', dbt.type_string()) }}
                        || ' (' || reused_selection_reason || ')'
            end
        ) as selection_reason
    from fitted
    where not is_refit

),

computed as (

    select
        {%- if purchase_model != 'auto' %}
            '{{ purchase_model }}' as selected_model,
            'purchase_model is set to {{ purchase_model }}' as selection_reason
        {%- else %}
            case
                when best_error is null or bg_nbd_error <= best_error + 0.01 then 'bg_nbd'
                else best_model
            end as selected_model,
            case
                when best_error is null
                    then 'auto: no purchase model has a holdout error (no holdout purchases, or no model with converged'
                        || ' calibration and full fits): bg_nbd by default'
                when best_model = 'bg_nbd'
                    then 'auto: bg_nbd has the lowest holdout error (' || best_percent || '%)'
                when bg_nbd_error <= best_error + 0.01
                    then 'auto: the holdout error of bg_nbd (' || bg_nbd_percent || '%) is within 1 percentage point of'
                        || ' the lowest (' || best_model || ', ' || best_percent || '%)'
                else
                    'auto: ' || best_model || ' has the lowest holdout error (' || best_percent || '%; bg_nbd '
                    || bg_nbd_percent || '%)'
            end as selection_reason
        {%- endif %}
    from labelled

),

choice as (

    select
        coalesce(reused.selected_model, computed.selected_model) as selected_model,
        coalesce(reused.selection_reason, computed.selection_reason) as selection_reason
    from computed
    cross join reused

),

final as (

    select
        ranked.model,
        ranked.is_converged,
        cast(ranked.predicted_purchases as {{ clv_type_double() }}) as holdout_predicted_purchases,
        cast(ranked.actual_purchases as {{ dbt.type_bigint() }}) as holdout_actual_purchases,
        cast(ranked.holdout_relative_error as {{ clv_type_double() }}) as holdout_relative_error,
        ranked.model = choice.selected_model as is_selected,
        choice.selection_reason
    from ranked
    cross join choice

)

select * from final
