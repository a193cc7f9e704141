{#-
    Revenue schedules with totals in minor units, their recognised amounts, and how many
    schedules claim the same invoice line (grain asserted before matching to billing).
-#}
with

schedules as (select * from {{ ref('stg_revrec__revenue_schedules') }}),

recognised as (
    select
        schedule_id,
        sum(case when status = 'recognized' then amount end) as recognised_amount
    from {{ ref('stg_revrec__revenue_schedule_lines') }}
    group by schedule_id
)

select
    schedules.schedule_id,
    schedules.invoice_id,
    schedules.invoice_line_id,
    schedules.customer_id,
    schedules.product_id,
    schedules.legal_entity_code,
    schedules.currency,
    schedules.recognition_method,
    schedules.status,
    schedules.total_amount,
    {{ major_to_minor('schedules.total_amount', 'schedules.currency') }} as total_minor,
    coalesce(recognised.recognised_amount, 0) as recognised_amount,
    schedules.document_date,
    {{ period_of_date('schedules.document_date') }} as booking_period,
    schedules.service_start_date,
    schedules.service_end_date,
    count(*) over (partition by schedules.invoice_line_id) as schedules_for_line
from schedules
left join recognised on schedules.schedule_id = recognised.schedule_id
