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
    lines.*,
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
