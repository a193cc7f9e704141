{#-
    What billing says each customer is entitled to on the as-of date (accounting time zone):
    whether a subscription is live, whether it pays for the support add-on (a product of
    revenue class "support"), the tier that buys (var support_tiers maps the plan product to a
    tier; an unmapped plan buys "premium"), the products support should cover (the live
    subscriptions' products other than support), and the invoices past due beyond var
    support_past_due_days, during which a paid entitlement is expected to be suspended.

    A subscription is live on day D when it started on or before D and ends after D, so an
    entitlement valid through the day before the subscription's end date ends with it.
-#}
{%- set tiers = var('support_tiers') -%}
with

as_of as (select {{ accounting_date(as_of()) }} as as_of_date),

customers as (select * from {{ ref('stg_billing__customers') }}),

subscriptions as (

    select
        subscriptions.*,
        {{ accounting_date('subscriptions.started_at') }} <= as_of.as_of_date
            and (subscriptions.ended_at is null
                 or {{ accounting_date('subscriptions.ended_at') }} > as_of.as_of_date)
            as is_live
    from {{ ref('stg_billing__subscriptions') }} as subscriptions
    cross join as_of

),

live_items as (

    select
        subscriptions.customer_id,
        items.product_id,
        products.revenue_class
    from subscriptions
    inner join {{ ref('stg_billing__subscription_items') }} as items
        on subscriptions.subscription_id = items.subscription_id
    left join {{ ref('stg_billing__products') }} as products
        on items.product_id = products.product_id
    where subscriptions.is_live

),

per_customer as (

    select
        customer_id,
        bool_or(revenue_class = 'support') as pays_support,
        min(case when revenue_class = 'subscription' then product_id end) as plan_product_id,
        string_agg(distinct case when coalesce(revenue_class, '') <> 'support'
                                 then lower(product_id) end, ','
                   order by case when coalesce(revenue_class, '') <> 'support'
                                 then lower(product_id) end) as covered_products
    from live_items
    group by customer_id

),

subscription_state as (

    select
        customer_id,
        count(*) as subscription_count,
        bool_or(is_live) as has_live_subscription,
        max(ended_at) as last_ended_at
    from subscriptions
    group by customer_id

),

past_due as (

    select
        invoices.customer_id,
        count(*) as past_due_invoice_count,
        sum(invoices.amount_remaining_minor) as past_due_minor,
        min(invoices.due_at) as oldest_due_at
    from {{ ref('stg_billing__invoices') }} as invoices
    where invoices.status = 'open'
        and invoices.amount_remaining_minor > 0
        and invoices.due_at + interval '{{ var("support_past_due_days") }} days' < {{ as_of() }}
    group by invoices.customer_id

),

support_prices as (

    {# the monthly list price of the support add-on per currency: what an entitlement is worth #}
    select prices.currency, min(prices.unit_amount_minor) as monthly_support_minor
    from {{ ref('stg_billing__prices') }} as prices
    inner join {{ ref('stg_billing__products') }} as products
        on prices.product_id = products.product_id
    where products.revenue_class = 'support' and prices.recurring_interval = 'month'
    group by prices.currency

)

select
    customers.customer_id,
    customers.customer_name,
    customers.legal_entity_code,
    customers.currency,
    coalesce(subscription_state.subscription_count, 0) as subscription_count,
    coalesce(subscription_state.has_live_subscription, false) as has_live_subscription,
    subscription_state.last_ended_at,
    coalesce(per_customer.pays_support, false) as pays_support,
    per_customer.plan_product_id,
    case
        when coalesce(per_customer.pays_support, false) then case per_customer.plan_product_id
            {%- for plan, tier in tiers.items() | sort %}
            when '{{ plan }}' then '{{ tier }}'
            {%- endfor %}
            else 'premium' end
        else 'standard'
    end as expected_tier,
    per_customer.covered_products as billing_covered_products,
    past_due.past_due_invoice_count is not null as is_past_due,
    coalesce(past_due.past_due_invoice_count, 0) as past_due_invoice_count,
    past_due.past_due_minor,
    past_due.oldest_due_at,
    support_prices.monthly_support_minor
from customers
left join subscription_state on customers.customer_id = subscription_state.customer_id
left join per_customer on customers.customer_id = per_customer.customer_id
left join past_due on customers.customer_id = past_due.customer_id
left join support_prices on customers.currency = support_prices.currency
