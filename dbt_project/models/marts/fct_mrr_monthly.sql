{#-
    The MRR bridge per accounting month and legal entity, in the reporting currency:
    opening + new + expansion − contraction − churn + reactivation = closing.

    Built from fct_mrr_movements' reporting-currency amounts, where a month's previous and
    current MRR are both translated at that month's month-end rate.  Opening MRR of a month is
    therefore last month's customers at this month's rate; fx_translation_mrr is the difference
    to last month's closing MRR (at last month's rate), so months chain as well:
    prior_closing_mrr + fx_translation_mrr = opening_mrr.  Contraction and churn are positive
    magnitudes.
-#}
with

movements as (

    select * from {{ ref('fct_mrr_movements') }}

),

by_type as (

    -- One pass over the movements per month, entity and movement type; the bridge columns
    -- are then taken from these few rows.
    select
        month,
        period,
        legal_entity_code,
        reporting_currency,
        movement_type,
        sum(mrr_previous_reporting) as opening_mrr,
        sum(mrr_change_reporting) as change_mrr,
        sum(mrr_current_reporting) as closing_mrr,
        count(*) as customers,
        count(*) filter (where mrr_previous <> 0) as opening_customers,
        count(*) filter (where mrr_current <> 0) as closing_customers
    from movements
    group by month, period, legal_entity_code, reporting_currency, movement_type

),

monthly as (

    select
        month,
        period,
        legal_entity_code,
        reporting_currency,
        sum(opening_mrr) as opening_mrr,
        sum(case when movement_type = 'new' then change_mrr else 0 end) as new_mrr,
        sum(case when movement_type = 'expansion' then change_mrr else 0 end) as expansion_mrr,
        sum(case when movement_type = 'contraction' then -change_mrr else 0 end)
            as contraction_mrr,
        sum(case when movement_type = 'churn' then -change_mrr else 0 end) as churned_mrr,
        sum(case when movement_type = 'reactivation' then change_mrr else 0 end)
            as reactivation_mrr,
        sum(closing_mrr) as closing_mrr,
        sum(opening_customers) as opening_customers,
        sum(case when movement_type = 'new' then customers else 0 end) as new_customers,
        sum(case when movement_type = 'expansion' then customers else 0 end)
            as expansion_customers,
        sum(case when movement_type = 'contraction' then customers else 0 end)
            as contraction_customers,
        sum(case when movement_type = 'churn' then customers else 0 end) as churned_customers,
        sum(case when movement_type = 'reactivation' then customers else 0 end)
            as reactivated_customers,
        sum(closing_customers) as closing_customers
    from by_type
    group by month, period, legal_entity_code, reporting_currency

),

chained as (

    select
        monthly.*,
        coalesce(prior.closing_mrr, 0) as prior_closing_mrr
    from monthly
    left join monthly as prior
        on prior.legal_entity_code = monthly.legal_entity_code
        and prior.reporting_currency = monthly.reporting_currency
        and prior.month = cast({{ dbt.dateadd('month', -1, 'monthly.month') }} as date)

),

final as (

    select
        month,
        period,
        legal_entity_code,
        reporting_currency,
        cast(prior_closing_mrr as decimal(20, 4)) as prior_closing_mrr,
        cast(opening_mrr - prior_closing_mrr as decimal(20, 4)) as fx_translation_mrr,
        cast(opening_mrr as decimal(20, 4)) as opening_mrr,
        cast(new_mrr as decimal(20, 4)) as new_mrr,
        cast(expansion_mrr as decimal(20, 4)) as expansion_mrr,
        cast(contraction_mrr as decimal(20, 4)) as contraction_mrr,
        cast(churned_mrr as decimal(20, 4)) as churned_mrr,
        cast(reactivation_mrr as decimal(20, 4)) as reactivation_mrr,
        cast(closing_mrr as decimal(20, 4)) as closing_mrr,
        cast(closing_mrr - opening_mrr as decimal(20, 4)) as net_new_mrr,
        cast(closing_mrr * 12 as decimal(20, 4)) as closing_arr,
        cast(opening_customers as integer) as opening_customers,
        cast(new_customers as integer) as new_customers,
        cast(expansion_customers as integer) as expansion_customers,
        cast(contraction_customers as integer) as contraction_customers,
        cast(churned_customers as integer) as churned_customers,
        cast(reactivated_customers as integer) as reactivated_customers,
        cast(closing_customers as integer) as closing_customers,
        coalesce(
            opening_mrr + new_mrr + expansion_mrr - contraction_mrr - churned_mrr
                + reactivation_mrr = closing_mrr,
            false
        ) as is_bridge_balanced
    from chained

)

select * from final
