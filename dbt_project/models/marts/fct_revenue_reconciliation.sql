{#-
    Revenue per invoice line and accounting period: expected (the independent schedule from
    billing), scheduled and recognised in revrec.  One row per line and period present on
    either side; lines without a schedule show revrec amounts of zero.
-#}
with

expected as (
    select invoice_line_id, period, expected_amount_minor
    from {{ ref('int_expected_revenue_schedule') }}
),

lines as (select * from {{ ref('int_invoice_line_schedules') }}),

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
),

joined as (
    select
        coalesce(expected.invoice_line_id, revrec.invoice_line_id) as invoice_line_id,
        coalesce(expected.period, revrec.period) as period,
        coalesce(expected.expected_amount_minor, 0) as expected_minor,
        coalesce(revrec.scheduled_minor, 0) as scheduled_minor,
        coalesce(revrec.recognised_minor, 0) as recognised_minor
    from expected
    full outer join revrec
        on expected.invoice_line_id = revrec.invoice_line_id and expected.period = revrec.period
)

select
    joined.invoice_line_id,
    joined.period,
    lines.invoice_id,
    lines.schedule_id,
    lines.legal_entity_code,
    lines.currency,
    lines.recognition_method,
    {{ minor_to_major('joined.expected_minor', 'lines.currency') }} as expected_amount,
    {{ minor_to_major('joined.scheduled_minor', 'lines.currency') }} as scheduled_amount,
    {{ minor_to_major('joined.recognised_minor', 'lines.currency') }} as recognised_amount,
    {{ minor_to_major('joined.scheduled_minor - joined.expected_minor', 'lines.currency') }}
        as difference
from joined
inner join lines on joined.invoice_line_id = lines.invoice_line_id
