{#-
    The independent expected revenue schedule: what revrec should have recognised per invoice
    line and accounting month, recomputed from billing alone (DECISIONLOG "Revenue
    recognition policy").  Ratable lines are spread by day over the service period with
    cumulative half-away-from-zero rounding in minor units:
        piece_k = round(T * days_1..k / days_total) - round(T * days_1..k-1 / days_total)
    so the pieces sum exactly to T (the line amount net of credits) and each is within one
    minor unit of its exact share.  Point-in-time, usage and sub-day lines are one piece.
    A view: its only reader is int_revenue_by_line_period, which computes it inline instead
    of writing 3 million rows to the warehouse and reading them back.
-#}
{{ config(materialized='view') }}
with

lines as (
    select * from {{ ref('int_billing__invoice_lines') }}
    where is_recognisable
),

ratable as (
    select
        invoice_line_id,
        expected_total_minor,
        local_start_date as service_start,
        local_end_date as service_end_exclusive
    from lines
    where single_period is null
),

bounds as (
    select min(service_start) as first_day, max(service_end_exclusive) as last_day from ratable
),

months as (
    {{ month_spine('(select first_day from bounds)', '(select last_day from bounds)') }}
),

{# Cumulative service days up to the end of each month, in closed form (no window): #}
{# days from the service start to min(month end, service end).                       #}
days as (
    select
        ratable.invoice_line_id,
        ratable.expected_total_minor,
        months.month_start,
        {{ dbt.datediff('ratable.service_start', 'ratable.service_end_exclusive', 'day') }}
            as days_total,
        {{ dbt.datediff(
            'ratable.service_start',
            'greatest(ratable.service_start, months.month_start)',
            'day') }} as days_before,
        {{ dbt.datediff(
            'ratable.service_start',
            'least(ratable.service_end_exclusive, cast(' ~ dbt.dateadd('month', 1, 'months.month_start') ~ ' as date))',
            'day') }} as days_to_date
    from ratable
    inner join months
        on months.month_start >= cast(date_trunc('month', ratable.service_start) as date)
        and months.month_start < ratable.service_end_exclusive
),

ratable_pieces as (
    select
        invoice_line_id,
        {{ period_of_date('month_start') }} as period,
        days_to_date - days_before as service_days,
        cast(
            {{ half_up_div('cast(expected_total_minor as hugeint) * days_to_date', 'days_total') }}
            - {{ half_up_div('cast(expected_total_minor as hugeint) * days_before', 'days_total') }}
        as bigint) as expected_amount_minor
    from days
),

single_pieces as (
    select
        invoice_line_id,
        single_period as period,
        cast(null as bigint) as service_days,
        expected_total_minor as expected_amount_minor
    from lines
    where single_period is not null
),

pieces as (
    select * from ratable_pieces
    union all
    select * from single_pieces
)

select invoice_line_id, period, service_days, expected_amount_minor
from pieces
