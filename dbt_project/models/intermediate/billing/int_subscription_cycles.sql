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

cycles as (
    select
        subscriptions.*,
        cycle.k,
        timezone('UTC',
            timezone('UTC', subscriptions.started_at)
            + to_months(cast(cycle.k * subscriptions.interval_months as integer)))
            as cycle_start_at
    from subscriptions,
        {# one row per cycle that can have started by the snapshot (a margin of one) #}
        unnest(range(0, cast({{ dbt.datediff('subscriptions.started_at', as_of(), 'month') }}
            // subscriptions.interval_months + 2 as bigint))) as cycle(k)
),

due as (
    select *
    from cycles
    where cycle_start_at < coalesce(ended_at, cast('infinity' as timestamp with time zone))
        and cycle_start_at + interval 1 hour
            + to_hours(cast({{ var('grace_hours') }} as bigint)) < {{ as_of() }}
),

cycle_invoices as (
    select subscription_id, cast(timezone('UTC', period_start_at) as date) as start_day,
        min(invoice_id) as invoice_id, count(*) as invoices
    from {{ ref('int_billing__invoices') }}
    where billing_reason in ('subscription_create', 'subscription_cycle')
    group by subscription_id, cast(timezone('UTC', period_start_at) as date)
)

select
    due.subscription_id,
    due.customer_id,
    due.currency,
    due.k as cycle_number,
    due.cycle_start_at,
    {{ accounting_date('due.cycle_start_at') }} as cycle_start_date,
    {{ accounting_period('due.cycle_start_at') }} as period,
    cycle_invoices.invoice_id,
    coalesce(cycle_invoices.invoices, 0) as invoice_count
from due
left join cycle_invoices
    on due.subscription_id = cycle_invoices.subscription_id
    and cast(timezone('UTC', due.cycle_start_at) as date) = cycle_invoices.start_day
