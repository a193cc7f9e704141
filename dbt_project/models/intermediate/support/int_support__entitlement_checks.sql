{#-
    Every support organization and every billing customer side by side on the as-of date,
    with the outcome of each support rule (DESIGN §5, support <-> billing):

    - over-servicing: an active entitlement of a paid tier whose customer does not pay for the
      support add-on, an active entitlement (any tier) whose customer's subscriptions have all
      ended (past the contract end), or a paid tier for no billing customer;
    - under-servicing (per customer): pays for support, nothing past due, and no organization
      with an active paid entitlement;
    - mismatch: active entitlement of a live customer whose paid tier differs from the one the
      plan buys, or whose covered products differ from the live subscriptions' products;
    - past due: a paid entitlement kept active while an invoice is past due beyond
      var support_past_due_days (the customer pays for support, so suspension is expected).

    Grain: one row per organization, plus one row per billing customer no organization claims
    (organization_id null).  Several organizations claiming one customer are each checked;
    none fans the customer out into the others.
-#}
with

as_of as (select {{ accounting_date(as_of()) }} as as_of_date),

organizations as (

    select
        organizations.*,
        organizations.entitlement_status = 'active'
            and organizations.valid_from_date <= as_of.as_of_date
            and (organizations.valid_to_date is null
                 or organizations.valid_to_date >= as_of.as_of_date) as is_entitled,
        coalesce(organizations.support_tier, 'standard') <> 'standard' as is_paid_tier
    from {{ ref('stg_support__organizations') }} as organizations
    cross join as_of

),

billing as (select * from {{ ref('int_support__billing_entitlements') }}),

paired as (

    select
        organizations.organization_id,
        organizations.organization_name,
        coalesce(billing.customer_id, organizations.billing_customer_id) as customer_id,
        billing.customer_id is not null as is_known_customer,
        billing.legal_entity_code,
        billing.currency,
        organizations.support_tier,
        organizations.sla_policy,
        organizations.entitlement_status,
        organizations.valid_from_date,
        organizations.valid_to_date,
        organizations.covered_products,
        coalesce(organizations.is_entitled, false) as is_entitled,
        coalesce(organizations.is_paid_tier, false) as is_paid_tier,
        billing.subscription_count,
        billing.has_live_subscription,
        billing.last_ended_at,
        billing.pays_support,
        billing.plan_product_id,
        billing.expected_tier,
        billing.billing_covered_products,
        billing.is_past_due,
        billing.past_due_minor,
        billing.monthly_support_minor
    from organizations
    left join billing on organizations.billing_customer_id = billing.customer_id

    union all

    {# billing customers no organization claims #}
    select
        null, null, billing.customer_id, true, billing.legal_entity_code, billing.currency,
        null, null, null, null, null, null, false, false,
        billing.subscription_count, billing.has_live_subscription, billing.last_ended_at,
        billing.pays_support, billing.plan_product_id, billing.expected_tier,
        billing.billing_covered_products,
        billing.is_past_due, billing.past_due_minor, billing.monthly_support_minor
    from billing
    where not exists (
        select 1 from organizations
        where organizations.billing_customer_id = billing.customer_id
    )

),

customer_cover as (

    {# does any organization give the customer an active paid entitlement? #}
    select
        customer_id,
        bool_or(is_entitled and is_paid_tier) as has_paid_entitlement,
        min(organization_id) as first_organization_id
    from paired
    where is_known_customer
    group by customer_id

),

checked as (

    select
        paired.*,
        coalesce(customer_cover.has_paid_entitlement, false) as customer_has_paid_entitlement,
        {#- what the entitlement is worth a month: only where a paid tier is involved #}
        case when paired.is_paid_tier or coalesce(paired.pays_support, false)
            then paired.monthly_support_minor end as entitlement_value_minor,
        customer_cover.first_organization_id,
        paired.is_entitled and (
            (paired.is_paid_tier and not paired.is_known_customer)
            or (paired.is_known_customer and not paired.has_live_subscription)
            or (paired.is_paid_tier and paired.is_known_customer and not paired.pays_support)
        ) as is_over_serviced,
        paired.is_entitled and paired.is_paid_tier and coalesce(paired.pays_support, false)
            and coalesce(paired.is_past_due, false) and coalesce(paired.has_live_subscription,
                                                                 false)
            as is_kept_past_due,
        paired.is_entitled and coalesce(paired.has_live_subscription, false) and (
            (paired.is_paid_tier and paired.pays_support
             and paired.support_tier <> paired.expected_tier)
            or coalesce(paired.covered_products, '')
               <> coalesce(paired.billing_covered_products, '')
        ) as is_mismatched
    from paired
    left join customer_cover on paired.customer_id = customer_cover.customer_id

)

select
    checked.*,
    checked.is_known_customer and coalesce(checked.pays_support, false)
        and not coalesce(checked.is_past_due, false)
        and not checked.customer_has_paid_entitlement
        {#- a customer is reported once, on its lowest organization (or its no-organization row) #}
        and checked.organization_id is not distinct from checked.first_organization_id
        as is_under_serviced,
    case
        when checked.organization_id is null then 'no organization'
        when not checked.is_known_customer then 'organization of no billing customer'
        when not checked.has_live_subscription then 'no live subscription'
        else 'linked'
    end as link_status
from checked
