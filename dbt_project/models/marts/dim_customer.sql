{#-
    One row per billing customer, with its ERP customer and subscription state.

    The ERP customer is the one whose externalid is the billing customer id, the support
    organization the one whose external_id is.  When several ERP customers (or support
    organizations) claim the same billing customer the crosswalk is ambiguous: none is taken
    (never a fan-out) and `erp_customer_count` (`support_organization_count`) shows how many
    claim it.

    first_invoice_at is the first finalization of an invoice that is not void.  The
    subscription status is that of the customer's most recent subscription; is_active says
    whether any subscription is in a live status (active, trialing, past_due).
-#}
with

customers as (

    select * from {{ ref('stg_billing__customers') }}

),

erp_customers as (

    select * from {{ ref('stg_erp__customers') }}

),

invoices as (

    select * from {{ ref('stg_billing__invoices') }}

),

subscriptions as (

    select * from {{ ref('stg_billing__subscriptions') }}

),

erp_matches as (

    select
        billing_customer_id,
        count(*) as erp_customer_count,
        min(customer_id) as erp_customer_id,
        min(customer_number) as erp_customer_number
    from erp_customers
    where billing_customer_id is not null
    group by billing_customer_id

),

support_matches as (

    select
        billing_customer_id,
        count(*) as support_organization_count,
        min(organization_id) as support_organization_id,
        min(support_tier) as support_tier
    from {{ ref('stg_support__organizations') }}
    where billing_customer_id is not null
    group by billing_customer_id

),

first_invoices as (

    select
        customer_id,
        min(finalized_at) as first_invoice_at
    from invoices
    where status <> 'void'
        and finalized_at is not null
    group by customer_id

),

ranked_subscriptions as (

    select
        customer_id,
        status,
        row_number() over (
            partition by customer_id
            order by started_at desc, created_at desc, subscription_id desc
        ) as recency
    from subscriptions

),

subscription_summary as (

    select
        customer_id,
        count(*) as subscription_count,
        max(case when recency = 1 then status end) as subscription_status,
        max(case when status in ('active', 'trialing', 'past_due') then 1 else 0 end)
            as has_live_subscription
    from ranked_subscriptions
    group by customer_id

),

final as (

    select
        customers.customer_id,
        customers.customer_name,
        customers.legal_entity_code,
        customers.currency,
        case when erp_matches.erp_customer_count = 1 then erp_matches.erp_customer_id end
            as erp_customer_id,
        case when erp_matches.erp_customer_count = 1 then erp_matches.erp_customer_number end
            as erp_customer_number,
        cast(coalesce(erp_matches.erp_customer_count, 0) as integer) as erp_customer_count,
        case when support_matches.support_organization_count = 1
            then support_matches.support_organization_id end as support_organization_id,
        case when support_matches.support_organization_count = 1
            then support_matches.support_tier end as support_tier,
        cast(coalesce(support_matches.support_organization_count, 0) as integer)
            as support_organization_count,
        customers.created_at,
        first_invoices.first_invoice_at,
        subscription_summary.subscription_status,
        cast(coalesce(subscription_summary.subscription_count, 0) as integer) as subscription_count,
        coalesce(subscription_summary.has_live_subscription = 1, false) as is_active
    from customers
    left join erp_matches
        on customers.customer_id = erp_matches.billing_customer_id
    left join support_matches
        on customers.customer_id = support_matches.billing_customer_id
    left join first_invoices
        on customers.customer_id = first_invoices.customer_id
    left join subscription_summary
        on customers.customer_id = subscription_summary.customer_id

)

select * from final
