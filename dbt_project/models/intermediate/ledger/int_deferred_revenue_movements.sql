{#-
    Deferred-revenue movement per legal entity, currency and accounting period on both sides
    (DECISIONLOG "Roll-forward"): ERP = credit movement of the deferred-revenue account
    (the chart of accounts' DeferRevenue account) posted to the period; revrec = bookings of
    non-usage schedules (document date in the period) less their recognised amounts in it.
-#}
with

deferred_accounts as (
    select account_number from {{ ref('stg_reference__chart_of_accounts') }}
    where account_type = 'DeferRevenue'
),

erp as (
    select legal_entity_code, currency, period, -sum(amount_minor) as erp_movement_minor
    from {{ ref('int_erp__gl_lines') }}
    where account_number in (select account_number from deferred_accounts)
    group by legal_entity_code, currency, period
),

schedules as (
    select * from {{ ref('int_revrec__schedules') }} where recognition_method <> 'usage'
),

bookings as (
    select legal_entity_code, currency, booking_period as period,
        sum(total_minor) as bookings_minor
    from schedules
    group by legal_entity_code, currency, booking_period
),

recognised as (
    select
        schedules.legal_entity_code,
        schedules.currency,
        lines.period,
        sum({{ major_to_minor('lines.amount', 'schedules.currency') }}) as recognised_minor
    from schedules
    inner join {{ ref('stg_revrec__revenue_schedule_lines') }} as lines
        on schedules.schedule_id = lines.schedule_id
    where lines.status = 'recognized'
    group by schedules.legal_entity_code, schedules.currency, lines.period
),

revrec as (
    select
        coalesce(bookings.legal_entity_code, recognised.legal_entity_code) as legal_entity_code,
        coalesce(bookings.currency, recognised.currency) as currency,
        coalesce(bookings.period, recognised.period) as period,
        coalesce(bookings.bookings_minor, 0) as bookings_minor,
        coalesce(recognised.recognised_minor, 0) as recognised_minor
    from bookings
    full outer join recognised
        on bookings.legal_entity_code = recognised.legal_entity_code
        and bookings.currency = recognised.currency
        and bookings.period = recognised.period
),

periods as (
    select {{ period_of_date('start_date') }} as period, is_closed, end_date
    from {{ ref('stg_erp__accountingperiods') }}
)

select
    coalesce(revrec.legal_entity_code, erp.legal_entity_code) as legal_entity_code,
    coalesce(revrec.currency, erp.currency) as currency,
    coalesce(revrec.period, erp.period) as period,
    coalesce(periods.is_closed, false) as is_closed,
    periods.end_date as period_end_date,
    coalesce(revrec.bookings_minor, 0) as revrec_bookings_minor,
    coalesce(revrec.recognised_minor, 0) as revrec_recognised_minor,
    coalesce(revrec.bookings_minor, 0) - coalesce(revrec.recognised_minor, 0)
        as revrec_movement_minor,
    coalesce(erp.erp_movement_minor, 0) as erp_movement_minor,
    coalesce(erp.erp_movement_minor, 0)
        - (coalesce(revrec.bookings_minor, 0) - coalesce(revrec.recognised_minor, 0))
        as difference_minor
from revrec
full outer join erp
    on revrec.legal_entity_code = erp.legal_entity_code
    and revrec.currency = erp.currency
    and revrec.period = erp.period
left join periods on coalesce(revrec.period, erp.period) = periods.period
