{#-
    Revenue per invoice line and accounting period on both sides, computed once for the
    revenue mart and the REVENUE_VS_EXPECTED rule: expected (the independent schedule),
    scheduled and recognised in revrec (only schedules that alone claim their line).
-#}
with

expected as (
    select invoice_line_id, period, expected_amount_minor
    from {{ ref('int_expected_revenue_schedule') }}
),

revrec as (
    select
        schedules.invoice_line_id,
        schedule_lines.period,
        sum({{ major_to_minor('schedule_lines.amount', 'schedules.currency') }}) as scheduled_minor,
        sum(case when schedule_lines.status = 'recognized'
            then {{ major_to_minor('schedule_lines.amount', 'schedules.currency') }} else 0 end)
            as recognised_minor
    from {{ ref('int_revrec__schedules') }} as schedules
    inner join {{ ref('stg_revrec__revenue_schedule_lines') }} as schedule_lines
        on schedules.schedule_id = schedule_lines.schedule_id
    where schedules.schedules_for_line = 1
    group by schedules.invoice_line_id, schedule_lines.period
)

select
    coalesce(expected.invoice_line_id, revrec.invoice_line_id) as invoice_line_id,
    coalesce(expected.period, revrec.period) as period,
    coalesce(expected.expected_amount_minor, 0) as expected_minor,
    coalesce(revrec.scheduled_minor, 0) as scheduled_minor,
    coalesce(revrec.recognised_minor, 0) as recognised_minor
from expected
full outer join revrec
    on expected.invoice_line_id = revrec.invoice_line_id and expected.period = revrec.period
