{#-
    Support <-> billing rules (columns as the other int_rules__ models, plus support_ref): SUPPORT_OVER_SERVICING, SUPPORT_UNDER_SERVICING,
    SUPPORT_ENTITLEMENT_MISMATCH, SUPPORT_PAST_DUE_ENTITLEMENT (int_support__entitlement_checks)
    and SERVICE_CREDIT_NOT_BILLED (int_support__credit_matches).  Entitlement rules are
    states on the as-of date, so their period is the as-of period; amounts are the monthly
    list price of the support add-on (what the entitlement is worth; support side for
    over-servicing, billing side for under-servicing), for past due the overdue balance
    (billing side), zero for a tier or product mismatch.
-#}
with

as_of as (
    select
        {{ accounting_date(as_of()) }} as as_of_date,
        {{ accounting_period(as_of()) }} as as_of_period
),

checks as (select * from {{ ref('int_support__entitlement_checks') }}),

credits as (select * from {{ ref('int_support__credit_matches') }}),

entitlement_breaks as (

    select
        'SUPPORT_OVER_SERVICING' as rule,
        checks.*,
        cast(0 as bigint) as billing_amount_minor,
        coalesce(checks.entitlement_value_minor, 0) as other_amount_minor,
        case
            when not checks.is_known_customer then 'organization ' || cast(checks.organization_id
                as varchar) || ' has an active ' || checks.support_tier
                || ' entitlement but its external_id '
                || coalesce('''' || checks.customer_id || '''', '(empty)')
                || ' is no billing customer'
            when not checks.has_live_subscription then 'entitlement (' || checks.support_tier
                || ') active until ' || coalesce(cast(checks.valid_to_date as varchar), 'open end')
                || ' but the subscription ended '
                || coalesce(strftime(checks.last_ended_at, '%Y-%m-%d'), '(no subscription)')
            else checks.support_tier || ' entitlement but the customer does not pay for the '
                || 'support add-on (worth '
                || {{ money_text('checks.monthly_support_minor', 'checks.currency') }}
                || ' a month)'
        end as reason
    from checks
    where checks.is_over_serviced

    union all

    select
        'SUPPORT_UNDER_SERVICING',
        checks.*,
        coalesce(checks.entitlement_value_minor, 0),
        cast(0 as bigint),
        'pays for ' || checks.expected_tier || ' support but '
            || case
                when checks.organization_id is null then 'has no support organization'
                when checks.entitlement_status <> 'active'
                    then 'the entitlement is ' || checks.entitlement_status
                        || ' with nothing past due'
                when not checks.is_entitled then 'the entitlement is valid '
                    || cast(checks.valid_from_date as varchar) || ' to '
                    || coalesce(cast(checks.valid_to_date as varchar), 'open end')
                else 'the organization is on ' || checks.support_tier
            end
    from checks
    where checks.is_under_serviced

    union all

    select
        'SUPPORT_ENTITLEMENT_MISMATCH',
        checks.*,
        cast(0 as bigint),
        cast(0 as bigint),
        trim(both '; ' from
            case when checks.is_paid_tier and checks.pays_support
                      and checks.support_tier <> checks.expected_tier
                then 'tier: support ' || checks.support_tier || ', billing '
                    || checks.expected_tier || ' (plan ' || coalesce(checks.plan_product_id, '?')
                    || '); '
                else '' end
            || case when coalesce(checks.covered_products, '')
                         <> coalesce(checks.billing_covered_products, '')
                then 'covered products: support ' || coalesce(checks.covered_products, '(none)')
                    || ', billing ' || coalesce(checks.billing_covered_products, '(none)')
                else '' end)
    from checks
    where checks.is_mismatched

    union all

    select
        'SUPPORT_PAST_DUE_ENTITLEMENT',
        checks.*,
        checks.past_due_minor,
        cast(0 as bigint),
        checks.support_tier || ' entitlement active while '
            || {{ money_text('checks.past_due_minor', 'checks.currency') }}
            || ' is past due by more than {{ var("support_past_due_days") }} days'
    from checks
    where checks.is_kept_past_due

)

select
    rule,
    case when rule = 'SUPPORT_UNDER_SERVICING' then 'customer:' || customer_id
        else 'organization:' || cast(organization_id as varchar) end as natural_key,
    legal_entity_code as entity,
    {#- an organization of no billing customer has no currency of its own: reporting, amounts 0 #}
    coalesce(currency, '{{ var("reporting_currency") }}') as currency,
    as_of.as_of_period as period,
    cast(null as varchar) as timing_status,
    billing_amount_minor,
    'support' as other_system,
    other_amount_minor,
    other_amount_minor - billing_amount_minor as difference_minor,
    reason,
    case when customer_id is not null then 'billing customer ' || customer_id
        || case when pays_support then ' (pays for ' || expected_tier || ' support)'
            else '' end end as billing_ref,
    cast(null as varchar) as erp_ref,
    cast(null as varchar) as revrec_ref,
    as_of.as_of_date as fx_date,
    case when organization_id is not null then 'support organization '
        || cast(organization_id as varchar) || ' (' || coalesce(support_tier, '?') || ', '
        || coalesce(entitlement_status, '?') || ', valid '
        || coalesce(cast(valid_from_date as varchar), '?') || ' to '
        || coalesce(cast(valid_to_date as varchar), 'open end') || ')' end as support_ref
from entitlement_breaks
cross join as_of

union all

select
    'SERVICE_CREDIT_NOT_BILLED',
    'service_credit:' || cast(service_credit_id as varchar),
    legal_entity_code,
    currency,
    promised_period,
    cast(null as varchar),
    coalesce(credit_note_total_minor, 0),
    'support',
    amount_minor,
    difference_minor,
    case match_status
        when 'amount_differs' then 'credit note ' || matched_credit_note_id || ' is '
            || {{ money_text('credit_note_total_minor', 'currency') }} || ', support promised '
            || {{ money_text('amount_minor', 'currency') }}
        else 'no billing credit note for '
            || {{ money_text('amount_minor', 'currency') }} || ' promised '
            || cast(promised_date as varchar)
            || case when referenced_credit_note_id is not null
                then ' (the credit names ' || referenced_credit_note_id
                    || ', which is not a live credit note of this customer and currency)'
                else '' end
    end,
    case when matched_credit_note_id is not null then 'billing credit note '
        || matched_credit_note_id || ' (customer ' || coalesce(customer_id, '?') || ')'
        else case when customer_id is not null then 'billing customer ' || customer_id end
    end,
    cast(null as varchar),
    cast(null as varchar),
    promised_date,
    'support service credit ' || cast(service_credit_id as varchar) || ' (organization '
        || cast(organization_id as varchar) || ', ' || coalesce(reason, 'no reason') || ')'
from credits
where match_status = 'amount_differs' or (match_status = 'no_credit_note' and is_past_grace)
