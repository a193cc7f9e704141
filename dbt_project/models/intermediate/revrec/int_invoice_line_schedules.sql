{#-
    Invoice line <-> revenue schedule at line level: one row per recognisable billing line
    with its schedule when exactly one claims it.  Lines claimed by several schedules keep
    only the count, so no rule compares amounts across a fanned-out join.
-#}
with

lines as (
    select * from {{ ref('int_billing__invoice_lines') }}
    where is_recognisable
),

schedules as (select * from {{ ref('int_revrec__schedules') }})

select
    lines.invoice_line_id,
    lines.invoice_id,
    lines.legal_entity_code,
    lines.currency,
    lines.recognition_method,
    lines.is_proration,
    lines.amount_minor,
    lines.discount_amount_minor,
    lines.credited_minor,
    lines.credit_note_count,
    lines.credit_note_id,
    lines.expected_total_minor,
    lines.expected_service_start,
    lines.expected_service_end,
    lines.document_date,
    lines.invoice_period,
    lines.age_hours,
    coalesce(counts.schedule_count, 0) as schedule_count,
    single.schedule_id,
    single.total_minor as schedule_total_minor,
    single.service_start_date as schedule_service_start,
    single.service_end_date as schedule_service_end,
    single.recognition_method as schedule_recognition_method
from lines
left join (
    select invoice_line_id, count(*) as schedule_count from schedules group by invoice_line_id
) as counts on lines.invoice_line_id = counts.invoice_line_id
left join schedules as single
    on lines.invoice_line_id = single.invoice_line_id and single.schedules_for_line = 1
