{#-
    Billing <-> revrec rules on invoice lines and schedules, and revrec <-> the independent
    expected schedule (DECISIONLOG "Revrec precedence"): REVENUE_VS_EXPECTED is judged only
    on schedules whose total and service dates agree with the line; a schedule that still
    carries the gross amount of a line credited exactly once is CREDIT_NOT_REFLECTED (keyed by
    the credit note), not SCHEDULE_TOTAL_MISMATCH.
-#}
with

lines as (select * from {{ ref('int_invoice_line_schedules') }}),

compared as (
    select
        *,
        schedule_total_minor - expected_total_minor as total_difference_minor,
        credit_note_count = 1 and credited_minor <> 0 and schedule_total_minor = amount_minor
            as is_credit_not_reflected,
        schedule_service_start is distinct from expected_service_start
            or schedule_service_end is distinct from expected_service_end as is_date_mismatch
    from lines
    where schedule_count = 1
),

flagged as (
    select
        *,
        not is_credit_not_reflected
            and {{ is_document_break('total_difference_minor', 'expected_total_minor', 'currency') }}
            as is_total_break
    from compared
),

line_rules as (

    select
        'SCHEDULE_MISSING' as rule, invoice_line_id, 'invoice_line:' || invoice_line_id as natural_key,
        case when age_hours <= {{ var('grace_hours') }} + {{ var('late_hours') }} then 'late'
            else 'missing' end as timing_status,
        expected_total_minor as billing_amount_minor, cast(0 as bigint) as other_amount_minor,
        -expected_total_minor as difference_minor,
        'no revenue schedule ' || cast(cast(floor(age_hours) as bigint) as varchar)
            || ' h after the invoice was finalized (' || coalesce(recognition_method, '?')
            || ' line)' as reason,
        invoice_period as period
    from lines
    where schedule_count = 0 and age_hours > {{ var('grace_hours') }}

    union all

    select
        'SCHEDULE_TOTAL_MISMATCH', invoice_line_id, 'invoice_line:' || invoice_line_id, null,
        expected_total_minor, schedule_total_minor, total_difference_minor,
        'schedule total ' || {{ money_text('schedule_total_minor', 'currency') }}
            || ', line amount net of credits ' || {{ money_text('expected_total_minor', 'currency') }}
            || case when credited_minor <> 0
                then ' (gross ' || {{ money_text('amount_minor', 'currency') }} || ' less credits '
                    || {{ money_text('credited_minor', 'currency') }} || ')' else '' end
            || case when discount_amount_minor <> 0
                then '; line discount ' || {{ money_text('discount_amount_minor', 'currency') }}
                else '' end
            || case when is_proration then '; proration line' else '' end,
        invoice_period
    from flagged
    where is_total_break

    union all

    select
        'CREDIT_NOT_REFLECTED', invoice_line_id, 'credit_note:' || credit_note_id, null,
        expected_total_minor, schedule_total_minor, total_difference_minor,
        'credit note ' || credit_note_id || ' of ' || {{ money_text('credited_minor', 'currency') }}
            || ' not reflected: schedule still carries the gross '
            || {{ money_text('amount_minor', 'currency') }},
        invoice_period
    from flagged
    where is_credit_not_reflected

    union all

    select
        'SCHEDULE_PERIOD_MISMATCH', invoice_line_id, 'invoice_line:' || invoice_line_id, null,
        expected_total_minor, schedule_total_minor, cast(0 as bigint),
        'service dates: schedule ' || cast(schedule_service_start as varchar) || '..'
            || cast(schedule_service_end as varchar) || ', invoice line '
            || cast(expected_service_start as varchar) || '..'
            || cast(expected_service_end as varchar)
            || ' ({{ var("accounting_timezone") }} dates)',
        invoice_period
    from flagged
    where is_date_mismatch

),

{# Per closed period, recognised vs expected, for schedules that agree on total and dates. #}
agreeing as (
    select invoice_line_id, schedule_id, currency, legal_entity_code, expected_total_minor,
        is_proration
    from flagged
    where not is_total_break and not is_credit_not_reflected and not is_date_mismatch
        and total_difference_minor = 0
),

closed_periods as (
    select {{ period_of_date('start_date') }} as period
    from {{ ref('stg_erp__accountingperiods') }}
    where is_closed
),

by_period as (
    select
        revenue.invoice_line_id,
        revenue.period,
        revenue.expected_minor,
        revenue.recognised_minor
    from {{ ref('int_revenue_by_line_period') }} as revenue
    inner join agreeing on revenue.invoice_line_id = agreeing.invoice_line_id
),

revenue_rules as (
    select
        'REVENUE_VS_EXPECTED' as rule, by_period.invoice_line_id,
        'invoice_line:' || by_period.invoice_line_id || '|' || by_period.period as natural_key,
        cast(null as varchar) as timing_status,
        by_period.expected_minor as billing_amount_minor,
        by_period.recognised_minor as other_amount_minor,
        by_period.recognised_minor - by_period.expected_minor as difference_minor,
        'recognised ' || {{ money_text('by_period.recognised_minor', 'agreeing.currency') }}
            || ' in ' || by_period.period || ', expected '
            || {{ money_text('by_period.expected_minor', 'agreeing.currency') }}
            || ' (ratable by day, cumulative rounding)'
            || case when agreeing.is_proration then '; proration line' else '' end as reason,
        by_period.period
    from by_period
    inner join agreeing on by_period.invoice_line_id = agreeing.invoice_line_id
    inner join closed_periods on by_period.period = closed_periods.period
    where {{ is_document_break('by_period.recognised_minor - by_period.expected_minor',
                               'by_period.expected_minor', 'agreeing.currency') }}
),

all_rules as (
    select * from line_rules
    union all
    select * from revenue_rules
)

select
    all_rules.rule,
    all_rules.natural_key,
    lines.legal_entity_code as entity,
    lines.currency,
    all_rules.period,
    all_rules.timing_status,
    all_rules.billing_amount_minor,
    'revrec' as other_system,
    all_rules.other_amount_minor,
    all_rules.difference_minor,
    all_rules.reason,
    'billing invoice line ' || lines.invoice_line_id || ' on invoice ' || lines.invoice_id
        as billing_ref,
    cast(null as varchar) as erp_ref,
    case when lines.schedule_id is not null then 'revrec schedule ' || lines.schedule_id end
        as revrec_ref,
    lines.document_date as fx_date
from all_rules
inner join lines on all_rules.invoice_line_id = lines.invoice_line_id

union all

select
    'ORPHAN_SCHEDULE',
    'schedule:' || schedules.schedule_id,
    schedules.legal_entity_code,
    schedules.currency,
    schedules.booking_period,
    null,
    cast(0 as bigint),
    'revrec',
    schedules.total_minor,
    schedules.total_minor,
    'schedule names invoice line ' || coalesce(schedules.invoice_line_id, '(none)')
        || ' of invoice ' || coalesce(schedules.invoice_id, '(none)')
        || ', which billing does not have',
    cast(null as varchar),
    cast(null as varchar),
    'revrec schedule ' || schedules.schedule_id,
    schedules.document_date
from {{ ref('int_revrec__schedules') }} as schedules
left join {{ ref('stg_billing__invoice_lines') }} as billing
    on schedules.invoice_line_id = billing.invoice_line_id
where billing.invoice_line_id is null
