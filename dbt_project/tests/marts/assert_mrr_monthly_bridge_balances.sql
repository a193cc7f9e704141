{#-
    The MRR bridge of every month and legal entity: opening + new + expansion − contraction
    − churn + reactivation = closing, and last month's closing + FX translation = opening.
    Recomputed from the bridge columns and from fct_mrr_movements, not from is_bridge_balanced.
-#}
with

monthly as (

    select * from {{ ref('fct_mrr_monthly') }}

),

movements as (

    select
        month,
        legal_entity_code,
        sum(mrr_previous_reporting) as opening_mrr,
        sum(mrr_current_reporting) as closing_mrr
    from {{ ref('fct_mrr_movements') }}
    group by month, legal_entity_code

)

select
    monthly.month,
    monthly.legal_entity_code,
    monthly.opening_mrr,
    monthly.closing_mrr,
    movements.opening_mrr as movements_opening_mrr,
    movements.closing_mrr as movements_closing_mrr
from monthly
left join movements
    on monthly.month = movements.month
    and monthly.legal_entity_code = movements.legal_entity_code
where monthly.opening_mrr + monthly.new_mrr + monthly.expansion_mrr - monthly.contraction_mrr
        - monthly.churned_mrr + monthly.reactivation_mrr <> monthly.closing_mrr
    or monthly.prior_closing_mrr + monthly.fx_translation_mrr <> monthly.opening_mrr
    or movements.opening_mrr is null
    or movements.opening_mrr <> monthly.opening_mrr
    or movements.closing_mrr <> monthly.closing_mrr
    or not monthly.is_bridge_balanced
