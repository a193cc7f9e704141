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

    One row per window, legal entity, currency and product (rated), or per window, item and
    reason (unrated).  Built for hundreds of millions of events: per event only integer
    arithmetic, joins to small tables and a grouping into few groups; the allowance's running
    total is taken per arrival day, and only the events of the one day per cycle that
    crosses the allowance are ordered by arrival hour and window.
-#}
{%- set window_us = var('journal_window_minutes') * 60 * 1000000 -%}
{%- set hour_us = 3600 * 1000000 -%}
with

items as (
    select
        row_number() over (order by items.subscription_item_id) as item_key,
        {# one small integer per journal scope attribute set, so the per-event grouping #}
        {# below groups integers, not strings                                          #}
        dense_rank() over (order by customers.legal_entity_code, subscriptions.currency,
            items.product_id) as scope_key,
        items.subscription_item_id,
        items.product_id,
        subscriptions.customer_id as subscription_customer_id,
        subscriptions.currency,
        customers.legal_entity_code,
        prices.unit_amount_minor,
        coalesce(prices.included_quantity, 0) as included_quantity,
        case subscriptions.billing_interval when 'year' then 12 when 'month' then 1 end
            as interval_months,
        epoch_us(subscriptions.started_at) as started_us,
        year(make_timestamp(epoch_us(subscriptions.started_at))) as started_year,
        month(make_timestamp(epoch_us(subscriptions.started_at))) as started_month,
        day(make_timestamp(epoch_us(subscriptions.started_at))) as started_day,
        epoch_us(subscriptions.started_at) % 86400000000 as started_time_of_day_us,
        case
            when subscriptions.currency is null then 'subscription item without a subscription'
            when prices.unit_amount_minor is null then 'price without a unit amount'
            when prices.currency is distinct from subscriptions.currency
                then 'price currency differs from the subscription currency'
            when customers.legal_entity_code is null then 'customer without a legal entity'
            when subscriptions.billing_interval not in ('month', 'year')
                or subscriptions.started_at is null
                then 'subscription without a billing interval or start'
        end as item_problem
    from {{ ref('stg_billing__subscription_items') }} as items
    left join {{ ref('stg_billing__subscriptions') }} as subscriptions
        on items.subscription_id = subscriptions.subscription_id
    left join {{ ref('stg_billing__customers') }} as customers
        on subscriptions.customer_id = customers.customer_id
    left join {{ ref('stg_billing__prices') }} as prices
        on items.price_id = prices.price_id
),

events as (
    select subscription_item_id, customer_id, quantity, occurred_at, received_at
    from {{ ref('stg_usage__events') }}
),

{# Per event, integers only: window, arrival hour, and the billing cycle - calendar   #}
{# months since the start (naive UTC), less one while the month's anchor (the start's  #}
{# day, clamped to the month's length, and time of day) is still ahead; the same       #}
{# clamping as int_subscription_cycles, without a join or a time-zone call per event.  #}
{# Unrated events keep a reason code (names below).  Materialized once: both passes    #}
{# over the events read it.                                                            #}
placed as materialized (
    select
        cast(items.scope_key as integer) as scope_key,
        case when items.item_key is null then events.subscription_item_id end
            as unknown_item_id,
        events.quantity,
        cast(epoch_us(events.occurred_at) // {{ window_us }} as integer) as window_number,
        cast(epoch_us(events.received_at) // {{ hour_us }} as integer) as received_hour,
        cast(case
            when items.item_key is null then 1
            when items.item_problem is not null then 2
            when events.customer_id is distinct from items.subscription_customer_id then 3
            when epoch_us(events.occurred_at) < items.started_us then 4
            else 0
        end as utinyint) as unrated_code,
        {# item x cycle in one integer; the item alone (cycle 0) where the event is unrated #}
        items.item_key * 4096 + case when items.item_problem is null
            and epoch_us(events.occurred_at) >= items.started_us then (
            (year(occurred) - items.started_year) * 12 + month(occurred) - items.started_month
            - case
                when day(occurred) < least(items.started_day, day(last_day(occurred)))
                    or (day(occurred) = least(items.started_day, day(last_day(occurred)))
                        and epoch_us(occurred) % 86400000000 < items.started_time_of_day_us)
                    then 1
                else 0
            end
        ) // items.interval_months else 0 end as item_cycle_key
    from (
        select *, make_timestamp(epoch_us(occurred_at)) as occurred
        from events
    ) as events
    left join items
        on events.subscription_item_id = items.subscription_item_id
),

cycled as (
    select item_cycle_key, scope_key, quantity, window_number, received_hour
    from placed
    where unrated_code = 0
),

{# The allowance's running total per item, cycle and arrival day (few rows). #}
days as (
    select
        item_cycle_key,
        received_hour // 24 as received_day,
        sum(sum(quantity)) over (
            partition by item_cycle_key order by received_hour // 24
            rows between unbounded preceding and current row
        ) - sum(quantity) as before_day,
        sum(quantity) as day_quantity
    from cycled
    group by item_cycle_key, received_hour // 24
),

{# Per item and cycle, the first arrival day with billable units: days before it rate 0, #}
{# days after it every unit; a cycle without one never passes its allowance.           #}
crossing_days as (
    select
        days.item_cycle_key,
        min(days.received_day) as crossing_day,
        arg_min(days.before_day, days.received_day) as before_day,
        any_value(items.included_quantity) as included_quantity,
        any_value(items.unit_amount_minor) as unit_amount_minor
    from days
    inner join items on days.item_cycle_key // 4096 = items.item_key
    where days.before_day + days.day_quantity > items.included_quantity
    group by days.item_cycle_key
),

{# One grouping over the events: days before the crossing day rate 0, days after it #}
{# every unit (both collapse to window x scope); the crossing day's events stay per   #}
{# item, cycle, arrival hour and window for the ordering below.                       #}
classified as (
    select
        cycled.window_number,
        cycled.scope_key,
        case when cycled.received_hour // 24 = crossing_days.crossing_day
            then cycled.item_cycle_key end as crossing_key,
        case when cycled.received_hour // 24 = crossing_days.crossing_day
            then cycled.received_hour end as crossing_hour,
        sum(cycled.quantity) as quantity,
        count(*) as event_count,
        sum(case when cycled.received_hour // 24 > crossing_days.crossing_day
            then cycled.quantity else 0 end) as whole_day_billable,
        sum(case when cycled.received_hour // 24 > crossing_days.crossing_day
            then cycled.quantity * crossing_days.unit_amount_minor else 0 end)
            as whole_day_rated_minor
    from cycled
    left join crossing_days on cycled.item_cycle_key = crossing_days.item_cycle_key
    group by all
),

{# The crossing day, in arrival order: arrival hour, then window. #}
crossing as (
    select
        classified.window_number,
        classified.scope_key,
        crossing_days.included_quantity,
        crossing_days.unit_amount_minor,
        classified.quantity,
        crossing_days.before_day + sum(classified.quantity) over (
            partition by classified.crossing_key
            order by classified.crossing_hour, classified.window_number
            rows between unbounded preceding and current row
        ) as cumulative_quantity
    from classified
    inner join crossing_days on classified.crossing_key = crossing_days.item_cycle_key
),

by_scope as (
    select
        window_number,
        scope_key,
        sum(quantity) as quantity,
        sum(event_count) as event_count,
        sum(whole_day_billable) as billable_quantity,
        sum(whole_day_rated_minor) as rated_minor
    from classified
    group by window_number, scope_key
),

crossing_by_scope as (
    select
        window_number,
        scope_key,
        sum(greatest(cumulative_quantity - included_quantity, 0)
            - greatest(cumulative_quantity - quantity - included_quantity, 0))
            as billable_quantity,
        sum((greatest(cumulative_quantity - included_quantity, 0)
            - greatest(cumulative_quantity - quantity - included_quantity, 0))
            * unit_amount_minor) as rated_minor
    from crossing
    group by window_number, scope_key
),

unrated as (
    select
        placed.window_number,
        coalesce(placed.unknown_item_id, items.subscription_item_id) as subscription_item_id,
        case placed.unrated_code
            when 1 then 'unknown subscription item'
            when 2 then any_value(items.item_problem)
            when 3 then 'event customer differs from the subscription''s customer'
            when 4 then 'occurred before the subscription started'
        end as unrated_reason,
        any_value(items.legal_entity_code) as legal_entity_code,
        any_value(items.currency) as currency,
        any_value(items.product_id) as product_id,
        sum(placed.quantity) as quantity,
        count(*) as event_count
    from placed
    left join items on placed.item_cycle_key // 4096 = items.item_key
    where placed.unrated_code <> 0
    group by placed.window_number, placed.unknown_item_id, items.subscription_item_id,
        placed.unrated_code
),

scopes as (
    select distinct scope_key, legal_entity_code, currency, product_id from items
)

select
    to_timestamp(by_scope.window_number * {{ window_us // 1000000 }}) as window_start_at,
    to_timestamp((by_scope.window_number + 1) * {{ window_us // 1000000 }}) as window_end_at,
    scopes.legal_entity_code,
    scopes.currency,
    scopes.product_id,
    cast(null as varchar) as subscription_item_id,
    cast(by_scope.quantity as bigint) as quantity,
    cast(by_scope.event_count as bigint) as event_count,
    cast(by_scope.billable_quantity + coalesce(crossing_by_scope.billable_quantity, 0)
        as bigint) as billable_quantity,
    cast(by_scope.rated_minor + coalesce(crossing_by_scope.rated_minor, 0) as bigint)
        as rated_minor,
    cast(null as varchar) as unrated_reason
from by_scope
inner join scopes on by_scope.scope_key = scopes.scope_key
left join crossing_by_scope
    on by_scope.window_number = crossing_by_scope.window_number
    and by_scope.scope_key = crossing_by_scope.scope_key

union all

select
    to_timestamp(window_number * {{ window_us // 1000000 }}),
    to_timestamp((window_number + 1) * {{ window_us // 1000000 }}),
    legal_entity_code,
    currency,
    product_id,
    subscription_item_id,
    cast(quantity as bigint),
    cast(event_count as bigint),
    null,
    null,
    unrated_reason
from unrated
