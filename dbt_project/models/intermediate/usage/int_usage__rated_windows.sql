{{ config(materialized='view') }}
{#-
    Usage rated with its subscription item's price, per item, billing cycle, micro-batch
    window and arrival hour (DECISIONLOG "Usage journals").  A view: the journal poster reads
    it through fct_usage_journal_lines at posting time, so an hourly post sees the events
    landed since the nightly build without rebuilding anything.

    The included quantity of a cycle is consumed in arrival order (arrival hour, then
    window): usage already posted keeps its rating when a late event arrives, so the late
    event's rating lands, as an adjustment, in its own window only.  Over a whole cycle the
    rated amount is max(0, used - included) x unit price, exactly what the cycle's invoice
    bills.  Events that cannot be rated keep a reason and are never dropped silently.
-#}
with

events as (
    select subscription_item_id, customer_id, quantity, occurred_at, received_at
    from {{ ref('stg_usage__events') }}
),

items as (
    select
        items.subscription_item_id,
        items.product_id,
        subscriptions.customer_id as subscription_customer_id,
        subscriptions.currency,
        subscriptions.started_at,
        case subscriptions.billing_interval when 'year' then 12 when 'month' then 1 end
            as interval_months,
        customers.legal_entity_code,
        prices.currency as price_currency,
        prices.usage_type,
        prices.unit_amount_minor,
        coalesce(prices.included_quantity, 0) as included_quantity
    from {{ ref('stg_billing__subscription_items') }} as items
    left join {{ ref('stg_billing__subscriptions') }} as subscriptions
        on items.subscription_id = subscriptions.subscription_id
    left join {{ ref('stg_billing__customers') }} as customers
        on subscriptions.customer_id = customers.customer_id
    left join {{ ref('stg_billing__prices') }} as prices
        on items.price_id = prices.price_id
),

placed as (
    select
        events.subscription_item_id,
        events.quantity,
        {{ usage_window_start('events.occurred_at') }} as window_start_at,
        date_trunc('hour', events.received_at) as received_hour_at,
        items.product_id,
        items.currency,
        items.legal_entity_code,
        items.unit_amount_minor,
        items.included_quantity,
        items.interval_months,
        make_timestamp(epoch_us(items.started_at)) as started_utc,
        make_timestamp(epoch_us(events.occurred_at)) as occurred_utc,
        case
            when items.subscription_item_id is null then 'unknown subscription item'
            when items.currency is null then 'subscription item without a subscription'
            when events.customer_id is distinct from items.subscription_customer_id
                then 'event customer differs from the subscription''s customer'
            when items.unit_amount_minor is null then 'price without a unit amount'
            when items.price_currency is distinct from items.currency
                then 'price currency differs from the subscription currency'
            when items.legal_entity_code is null then 'customer without a legal entity'
            when items.interval_months is null then 'subscription without a billing interval'
            when events.occurred_at < items.started_at
                then 'occurred before the subscription started'
        end as unrated_reason
    from events
    left join items
        on events.subscription_item_id = items.subscription_item_id
),

{# The billing cycle an event falls in: whole intervals since the subscription started  #}
{# (calendar months, day clamped like int_subscription_cycles), estimated from the      #}
{# month difference and corrected by one where the clamped boundary is still ahead.     #}
cycled as (
    select
        *,
        cast(({{ dbt.datediff('started_utc', 'occurred_utc', 'month') }}) // interval_months
            as integer) as estimated_cycle
    from placed
),

grouped as (
    select
        subscription_item_id,
        case
            when unrated_reason is not null then null
            when started_utc + to_months(estimated_cycle * interval_months) > occurred_utc
                then estimated_cycle - 1
            else estimated_cycle
        end as cycle_number,
        window_start_at,
        received_hour_at,
        unrated_reason,
        product_id,
        currency,
        legal_entity_code,
        unit_amount_minor,
        included_quantity,
        sum(quantity) as quantity,
        count(*) as event_count
    from cycled
    group by all
),

rated as (
    select
        *,
        sum(quantity) over (
            partition by subscription_item_id, cycle_number
            order by received_hour_at, window_start_at
            rows between unbounded preceding and current row
        ) as cumulative_quantity
    from grouped
    where unrated_reason is null
)

select
    subscription_item_id,
    cycle_number,
    window_start_at,
    {{ usage_window_end('window_start_at') }} as window_end_at,
    received_hour_at,
    product_id,
    currency,
    legal_entity_code,
    quantity,
    event_count,
    included_quantity,
    greatest(cumulative_quantity - included_quantity, 0)
        - greatest(cumulative_quantity - quantity - included_quantity, 0) as billable_quantity,
    (greatest(cumulative_quantity - included_quantity, 0)
        - greatest(cumulative_quantity - quantity - included_quantity, 0))
        * unit_amount_minor as rated_minor,
    cast(null as varchar) as unrated_reason
from rated

union all

select
    subscription_item_id,
    null,
    window_start_at,
    {{ usage_window_end('window_start_at') }},
    received_hour_at,
    product_id,
    currency,
    legal_entity_code,
    quantity,
    event_count,
    included_quantity,
    null,
    null,
    unrated_reason
from grouped
where unrated_reason is not null
