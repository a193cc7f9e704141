{#-
    Metered usage per subscription item and invoiced usage cycle (DECISIONLOG "Usage not
    invoiced"): the events that occurred inside the cycle of each usage line, rated with the
    line's price (included quantity free, the rest at the unit price, in minor units).
-#}
with

usage_lines as (
    select lines.*
    from {{ ref('int_billing__invoice_lines') }} as lines
    where lines.recognition_method = 'usage'
        and lines.subscription_item_id is not null
        and lines.invoice_status <> 'void'
),

events as (
    select subscription_item_id, occurred_at, quantity from {{ ref('stg_usage__events') }}
),

used as (
    select
        usage_lines.invoice_line_id,
        sum(events.quantity) as used_quantity,
        count(events.quantity) as event_count
    from usage_lines
    inner join events
        on events.subscription_item_id = usage_lines.subscription_item_id
        and events.occurred_at >= usage_lines.period_start_at
        and events.occurred_at < usage_lines.period_end_at
    group by usage_lines.invoice_line_id
),

prices as (select * from {{ ref('stg_billing__prices') }})

select
    usage_lines.invoice_line_id,
    usage_lines.invoice_id,
    usage_lines.subscription_item_id,
    usage_lines.legal_entity_code,
    usage_lines.currency,
    usage_lines.period_start_at as cycle_start_at,
    usage_lines.period_end_at as cycle_end_at,
    usage_lines.local_start_date as cycle_start_date,
    usage_lines.single_period as period,
    usage_lines.document_date,
    usage_lines.quantity as invoiced_quantity,
    usage_lines.amount_minor as invoiced_minor,
    coalesce(used.used_quantity, 0) as used_quantity,
    coalesce(used.event_count, 0) as event_count,
    coalesce(prices.included_quantity, 0) as included_quantity,
    greatest(coalesce(used.used_quantity, 0) - coalesce(prices.included_quantity, 0), 0)
        * prices.unit_amount_minor as rated_minor
from usage_lines
left join used on usage_lines.invoice_line_id = used.invoice_line_id
left join prices on usage_lines.price_id = prices.price_id
