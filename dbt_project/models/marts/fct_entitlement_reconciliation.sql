{#-
    Support entitlements against what customers pay for, on the as-of date: one row per
    support organization, plus one per billing customer no organization claims.  `outcome`
    names the first support rule the row breaks (over_serviced, under_serviced,
    kept_past_due, mismatch) or ok; fct_exceptions carries the exceptions themselves.
    Amounts are the monthly list price of the support add-on (what the entitlement is worth)
    and the past-due balance, in the customer's currency and in the reporting currency.
-#}
with

checks as (select * from {{ ref('int_support__entitlement_checks') }}),

as_of as (select {{ accounting_date(as_of()) }} as as_of_date),

priced as (

    select
        checks.*,
        {{ minor_to_major('checks.entitlement_value_minor', 'checks.currency') }}
            as monthly_support_amount,
        {{ minor_to_major('checks.past_due_minor', 'checks.currency') }} as past_due_amount,
        fx.rate as fx_rate
    from checks
    cross join as_of
    asof left join {{ ref('int_fx__reporting_rates') }} as fx
        on checks.currency = fx.currency and as_of.as_of_date >= fx.rate_date

)

select
    cast(organization_id as bigint) as organization_id,
    cast(organization_name as varchar) as organization_name,
    cast(customer_id as varchar) as customer_id,
    cast(link_status as varchar) as link_status,
    cast(legal_entity_code as varchar) as legal_entity_code,
    cast(currency as varchar) as currency,
    cast(support_tier as varchar) as support_tier,
    cast(sla_policy as varchar) as sla_policy,
    cast(entitlement_status as varchar) as entitlement_status,
    cast(valid_from_date as date) as valid_from_date,
    cast(valid_to_date as date) as valid_to_date,
    cast(is_entitled as boolean) as is_entitled,
    cast(covered_products as varchar) as support_covered_products,
    cast(coalesce(has_live_subscription, false) as boolean) as has_live_subscription,
    cast(coalesce(pays_support, false) as boolean) as pays_support,
    cast(expected_tier as varchar) as expected_tier,
    cast(billing_covered_products as varchar) as billing_covered_products,
    cast(coalesce(is_past_due, false) as boolean) as is_past_due,
    cast(past_due_amount as decimal(20, 4)) as past_due_amount,
    cast(monthly_support_amount as decimal(20, 4)) as monthly_support_amount,
    {{ to_reporting('monthly_support_amount', 'fx_rate') }}
        as monthly_support_amount_reporting,
    cast(case
        when is_over_serviced then 'over_serviced'
        when is_under_serviced then 'under_serviced'
        when is_kept_past_due then 'kept_past_due'
        when is_mismatched then 'mismatch'
        else 'ok'
    end as varchar) as outcome,
    cast({{ as_of() }} as timestamp with time zone) as as_of
from priced
