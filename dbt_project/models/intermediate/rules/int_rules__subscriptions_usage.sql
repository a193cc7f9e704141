{#-
    Subscription and usage rules: BILLING_LEAKAGE (a due cycle with no invoice),
    CANCELLED_STILL_INVOICED (an invoice for service after the subscription ended) and
    USAGE_NOT_INVOICED (events of an invoiced cycle that the usage line does not carry).
-#}
with

plan_prices as (
    {#- What the cycle would have cost: the subscription's current recurring items. -#}
    select items.subscription_id, sum(prices.unit_amount_minor * coalesce(items.quantity, 1))
        as cycle_amount_minor
    from {{ ref('stg_billing__subscription_items') }} as items
    inner join {{ ref('stg_billing__prices') }} as prices on items.price_id = prices.price_id
    where prices.usage_type <> 'metered'
    group by items.subscription_id
),

customers as (select * from {{ ref('stg_billing__customers') }}),

leaks as (
    {# local dates only for the few cycles without an invoice (time-zone calls cost) #}
    select
        *,
        timezone('UTC', cycle_start_utc) as cycle_start_at,
        {{ accounting_date("timezone('UTC', cycle_start_utc)") }} as cycle_start_date,
        {{ accounting_period("timezone('UTC', cycle_start_utc)") }} as period
    from {{ ref('int_subscription_cycles') }}
    where invoice_count = 0
)

select
    'BILLING_LEAKAGE' as rule,
    'subscription:' || cycles.subscription_id || '|' || cast(cycles.cycle_start_date as varchar)
        as natural_key,
    customers.legal_entity_code as entity,
    cycles.currency,
    cycles.period,
    cast(null as varchar) as timing_status,
    cast(0 as bigint) as billing_amount_minor,
    'subscription' as other_system,
    coalesce(plan_prices.cycle_amount_minor, 0) as other_amount_minor,
    -coalesce(plan_prices.cycle_amount_minor, 0) as difference_minor,
    'no invoice for billing cycle ' || cast(cycles.cycle_number + 1 as varchar)
        || ' starting ' || strftime(cycles.cycle_start_at, '%Y-%m-%d %H:%M UTC')
        || ' (expected at current prices about '
        || {{ money_text('coalesce(plan_prices.cycle_amount_minor, 0)', 'cycles.currency') }} || ')'
        as reason,
    'billing subscription ' || cycles.subscription_id || ' (customer ' || cycles.customer_id || ')'
        as billing_ref,
    cast(null as varchar) as erp_ref,
    cast(null as varchar) as revrec_ref,
    cycles.cycle_start_date as fx_date
from leaks as cycles
left join plan_prices on cycles.subscription_id = plan_prices.subscription_id
left join customers on cycles.customer_id = customers.customer_id

union all

select
    'CANCELLED_STILL_INVOICED',
    'invoice:' || invoices.invoice_id,
    invoices.legal_entity_code,
    invoices.currency,
    invoices.period,
    null,
    invoices.total_minor,
    'subscription',
    cast(0 as bigint),
    invoices.total_minor,
    'invoice for service from ' || strftime(invoices.period_start_at, '%Y-%m-%d %H:%M UTC')
        || ', subscription ended ' || strftime(subscriptions.ended_at, '%Y-%m-%d %H:%M UTC'),
    'billing invoice ' || invoices.invoice_id || ' (' || invoices.invoice_number
        || ') of subscription ' || invoices.subscription_id,
    null,
    null,
    invoices.document_date
from {{ ref('int_billing__invoices') }} as invoices
inner join {{ ref('stg_billing__subscriptions') }} as subscriptions
    on invoices.subscription_id = subscriptions.subscription_id
where subscriptions.ended_at is not null
    and invoices.period_start_at >= subscriptions.ended_at
    and invoices.billing_reason <> 'subscription_update'
    and invoices.status <> 'void'

union all

select
    'USAGE_NOT_INVOICED',
    'subscription_item:' || usage.subscription_item_id || '|' || cast(usage.cycle_start_date as varchar),
    usage.legal_entity_code,
    usage.currency,
    usage.period,
    null,
    usage.invoiced_minor,
    'usage',
    usage.rated_minor,
    usage.rated_minor - usage.invoiced_minor,
    cast(usage.used_quantity as varchar) || ' units used in ' || cast(usage.event_count as varchar)
        || ' events, ' || cast(usage.invoiced_quantity as varchar) || ' invoiced ('
        || cast(usage.included_quantity as varchar) || ' included)',
    'billing invoice line ' || usage.invoice_line_id || ' on invoice ' || usage.invoice_id,
    null,
    null,
    usage.document_date
from {{ ref('int_usage_cycles') }} as usage
where usage.used_quantity <> usage.invoiced_quantity
