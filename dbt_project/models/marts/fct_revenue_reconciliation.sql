{#-
    Revenue per invoice line and accounting period: expected (the independent schedule from
    billing), scheduled and recognised in revrec.  One row per line and period present on
    either side; lines without a schedule show revrec amounts of zero.
-#}
select
    revenue.invoice_line_id,
    revenue.period,
    lines.invoice_id,
    lines.schedule_id,
    lines.legal_entity_code,
    lines.currency,
    lines.recognition_method,
    {{ minor_to_major('revenue.expected_minor', 'lines.currency') }} as expected_amount,
    {{ minor_to_major('revenue.scheduled_minor', 'lines.currency') }} as scheduled_amount,
    {{ minor_to_major('revenue.recognised_minor', 'lines.currency') }} as recognised_amount,
    {{ minor_to_major('revenue.scheduled_minor - revenue.expected_minor', 'lines.currency') }}
        as difference
from {{ ref('int_revenue_by_line_period') }} as revenue
inner join {{ ref('int_invoice_line_schedules') }} as lines
    on revenue.invoice_line_id = lines.invoice_line_id
