{#-
    The billing cycles each subscription should have been invoiced for (DECISIONLOG
    "Leakage"): cycle k starts at start + k intervals (calendar months in UTC, the day clamped
    to the month's end), up to the subscription's end; a cycle is due once its invoice would
    have been finalized (start + 1 h) more than the grace period ago.  Each cycle is matched
    to the subscription's cycle invoice (create/cycle reason) starting on the same UTC day.
-#}
with

subscriptions as (
    select
        subscription_id,
        customer_id,
        currency,
        started_at,
        ended_at,
        case billing_interval when 'year' then 12 when 'month' then 1 end as interval_months
    from {{ ref('stg_billing__subscriptions') }}
    where started_at is not null
),

{# Cycle arithmetic on naive UTC timestamps from epoch microseconds: calendar months  #}
{# without a time-zone library call per cycle (millions of rows at scale).            #}
cycles as (
    select
        subscriptions.*,
        cycle.k,
        make_timestamp(epoch_us(subscriptions.started_at))
            + to_months(cast(cycle.k * subscriptions.interval_months as integer))
            as cycle_start_utc
    from subscriptions,
        {# one row per cycle that can have started by the snapshot (a margin of one) #}
        unnest(range(0, cast({{ dbt.datediff('subscriptions.started_at', as_of(), 'month') }}
            // subscriptions.interval_months + 2 as bigint))) as cycle(k)
),

due as (
    select *
    from cycles
    where epoch_us(cycle_start_utc) < coalesce(epoch_us(ended_at), 9223372036854775807)
        and epoch_us(cycle_start_utc) + 3600000000 + {{ var('grace_hours') }} * 3600000000
            < epoch_us({{ as_of() }})
),

cycle_invoices as (
    select
        subscription_id,
        cast(make_timestamp(epoch_us(period_start_at)) as date) as start_day,
        min(invoice_id) as invoice_id,
        count(*) as invoices
    from {{ ref('int_billing__invoices') }}
    where billing_reason in ('subscription_create', 'subscription_cycle')
    group by subscription_id, cast(make_timestamp(epoch_us(period_start_at)) as date)
)

select
    due.subscription_id,
    due.customer_id,
    due.currency,
    due.k as cycle_number,
    due.cycle_start_utc,
    cycle_invoices.invoice_id,
    coalesce(cycle_invoices.invoices, 0) as invoice_count
from due
left join cycle_invoices
    on due.subscription_id = cycle_invoices.subscription_id
    and cast(due.cycle_start_utc as date) = cycle_invoices.start_day
