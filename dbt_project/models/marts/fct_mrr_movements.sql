{#-
    MRR / ARR movements: one row per billing customer and accounting month in which the
    customer has MRR or loses it (DECISIONLOG "MRR and ARR").

    Definition
    - Recurring lines: invoice lines of products with recognition_method 'ratable' (plans,
      support; dim_product.is_recurring) on invoices that are neither draft nor void.  One-off
      onboarding (point in time) and metered usage are never MRR.  Credit notes do not change
      MRR: goodwill credits are one-off, and a downgrade shows with the next cycle's invoice.
    - Run-rate of a line, per billing interval, in minor units: the line amount as billed (net of
      its discount).  A proration line (is_proration) covers only the rest of a cycle, so its
      billed amount is no run-rate; it counts at its full-interval value instead, quantity ×
      price unit amount, with the line's sign (an "unused time" credit is negative) and its own
      discount ratio applied (× |amount| / (|amount| + |discount|), half away from zero).  The
      cycle's own line plus the credit for the old quantity plus the charge for the new one then
      give the new run-rate, so an upgrade changes MRR from the month it happens in, not from
      the next renewal.
    - Monthly amount: month intervals as they are, year intervals / 12, in integer minor units
      rounded half away from zero to the currency's exponent, per line.  Other intervals (day,
      week) have no agreed normalisation here and give null, which the not_null tests report.
    - Months: a line counts in every accounting month from the month of its service start to
      the month containing its last service day (dates in var('accounting_timezone'), end
      exclusive, as revenue recognition), capped at the snapshot's month (var as_of).
    - Consecutive cycles overlap in a month (a cycle from the 15th to the 15th touches two
      months), so per subscription and month only the lines of the latest cycle touching the
      month count (latest period end): the run-rate in force at the end of the customer's
      service in that month.  Without this, monthly plans would count twice.
    - Customer MRR for a month = Σ of those monthly amounts.  A month with no recurring line
      (or MRR exactly 0) has no MRR.
    - Classification against the previous month: new (first MRR ever), reactivation (MRR after
      at least one month without), expansion / contraction (MRR up / down), churn (MRR in the
      previous month, none now; a row with mrr_current 0), unchanged (flagged, kept so that
      Σ mrr_previous and Σ mrr_current are the opening and closing MRR).
    - Reporting currency: previous and current MRR both converted at the month-end rate of the
      row's month (constant currency inside the month; fct_mrr_monthly shows the translation
      between months), each rounded half away from zero to the reporting currency's exponent;
      the reporting change is the difference of the rounded amounts, so it adds up exactly.
      Month-end rate: rate_date = the month's last day, or the latest earlier rate in the same
      month; none in the month gives null.
-#}

{%- set max_service_months = 600 -%}
{%- set reporting_currency = var('reporting_currency') | upper -%}
{%- set reporting_exponent = var('currency_exponents')[reporting_currency] -%}

with

invoice_lines as (

    select * from {{ ref('stg_billing__invoice_lines') }}

),

invoices as (

    select * from {{ ref('stg_billing__invoices') }}

),

prices as (

    select * from {{ ref('stg_billing__prices') }}

),

products as (

    select * from {{ ref('dim_product') }}

),

customers as (

    select * from {{ ref('stg_billing__customers') }}

),

fx_rates as (

    select * from {{ ref('stg_reference__fx_rates') }}

),

month_offsets as (

    {{ dbt.generate_series(max_service_months) }}

),

snapshot as (

    select cast({{ dbt.date_trunc('month', accounting_date(as_of())) }} as date) as snapshot_month

),

recurring_lines as (

    select
        lines.invoice_line_id,
        invoices.customer_id,
        lines.currency,
        coalesce(invoices.subscription_id, lines.subscription_item_id, lines.invoice_line_id)
            as subscription_key,
        lines.period_end_at,
        prices.recurring_interval,
        {{ accounting_date('lines.period_start_at') }} as service_start_date,
        greatest(
            {{ accounting_date('lines.period_start_at') }},
            cast({{ dbt.dateadd('day', -1, accounting_date('lines.period_end_at')) }} as date)
        ) as last_service_date,
        case
            when not lines.is_proration then lines.amount_minor
            when lines.amount_minor = 0 then 0
            else sign(lines.amount_minor) * {{ half_up_div(
                'lines.quantity * prices.unit_amount_minor * abs(lines.amount_minor)',
                'abs(lines.amount_minor) + abs(lines.discount_amount_minor)') }}
        end as interval_amount_minor
    from invoice_lines as lines
    inner join invoices
        on lines.invoice_id = invoices.invoice_id
    inner join products
        on lines.product_id = products.product_id
    left join prices
        on lines.price_id = prices.price_id
    where products.is_recurring
        and invoices.status not in ('draft', 'void')

),

normalised_lines as (

    select
        recurring_lines.*,
        cast({{ dbt.date_trunc('month', 'service_start_date') }} as date) as first_service_month,
        {{ dbt.datediff(dbt.date_trunc('month', 'service_start_date'),
                        dbt.date_trunc('month', 'last_service_date'), 'month') }}
            as service_month_span,
        case
            when recurring_interval = 'month' then interval_amount_minor
            when recurring_interval = 'year' then {{ half_up_div('interval_amount_minor', 12) }}
        end as monthly_amount_minor
    from recurring_lines

),

line_months as (

    select
        lines.customer_id,
        lines.currency,
        lines.subscription_key,
        lines.period_end_at,
        cast({{ dbt.dateadd('month', 'month_offsets.generated_number - 1',
                            'lines.first_service_month') }} as date) as mrr_month,
        -- A span the month offsets cannot cover yields null rather than a silent cut.
        case
            when lines.service_month_span < {{ max_service_months }}
                then lines.monthly_amount_minor
        end as monthly_amount_minor
    from normalised_lines as lines
    inner join month_offsets
        on month_offsets.generated_number - 1
            <= least(lines.service_month_span, {{ max_service_months - 1 }})

),

latest_cycle_months as (

    select
        line_months.*,
        max(period_end_at) over (partition by subscription_key, mrr_month) as latest_period_end_at
    from line_months
    inner join snapshot
        on line_months.mrr_month <= snapshot.snapshot_month

),

customer_months as (

    select
        customer_id,
        currency,
        mrr_month,
        -- Null when any contributing line has no monthly amount, so the not_null tests fire.
        case
            when count(*) = count(monthly_amount_minor) then sum(monthly_amount_minor)
        end as mrr_minor
    from latest_cycle_months
    where period_end_at = latest_period_end_at
    group by customer_id, currency, mrr_month

),

active_months as (

    select
        customer_id,
        currency,
        mrr_month,
        mrr_minor,
        cast({{ dbt.dateadd('month', -1, 'mrr_month') }} as date) as previous_month,
        cast({{ dbt.dateadd('month', 1, 'mrr_month') }} as date) as next_month,
        lag(mrr_month) over (partition by customer_id, currency order by mrr_month)
            as previous_active_month,
        lag(mrr_minor) over (partition by customer_id, currency order by mrr_month)
            as previous_active_mrr_minor,
        lead(mrr_month) over (partition by customer_id, currency order by mrr_month)
            as next_active_month
    from customer_months
    where mrr_minor is null or mrr_minor <> 0

),

movements as (

    select
        customer_id,
        currency,
        mrr_month,
        case
            when previous_active_month = previous_month then previous_active_mrr_minor
            else 0
        end as mrr_previous_minor,
        mrr_minor as mrr_current_minor,
        case
            when previous_active_month is null then 'new'
            when previous_active_month <> previous_month then 'reactivation'
            when mrr_minor > previous_active_mrr_minor then 'expansion'
            when mrr_minor < previous_active_mrr_minor then 'contraction'
            else 'unchanged'
        end as movement_type
    from active_months

    union all

    select
        active_months.customer_id,
        active_months.currency,
        active_months.next_month as mrr_month,
        active_months.mrr_minor as mrr_previous_minor,
        0 as mrr_current_minor,
        'churn' as movement_type
    from active_months
    inner join snapshot
        on active_months.next_month <= snapshot.snapshot_month
    where active_months.next_active_month is null
        or active_months.next_active_month > active_months.next_month

),

amounts as (

    select
        movements.customer_id,
        movements.mrr_month,
        movements.currency,
        movements.movement_type,
        {{ minor_to_major('movements.mrr_previous_minor', 'movements.currency') }} as mrr_previous,
        {{ minor_to_major('movements.mrr_current_minor', 'movements.currency') }} as mrr_current,
        cast({{ dbt.last_day('movements.mrr_month', 'month') }} as date) as month_last_day
    from movements

),

rate_candidates as (

    select
        rate_months.currency,
        rate_months.mrr_month,
        fx_rates.rate_date,
        fx_rates.rate,
        row_number() over (
            partition by rate_months.currency, rate_months.mrr_month
            order by fx_rates.rate_date desc
        ) as recency
    from (select distinct currency, mrr_month, month_last_day from amounts) as rate_months
    inner join fx_rates
        on fx_rates.from_currency = rate_months.currency
        and fx_rates.to_currency = '{{ reporting_currency }}'
        and fx_rates.rate_date >= rate_months.mrr_month
        and fx_rates.rate_date <= rate_months.month_last_day

),

month_end_rates as (

    select currency, mrr_month, rate_date, rate
    from rate_candidates
    where recency = 1

),

converted as (

    select
        amounts.*,
        case
            when amounts.currency = '{{ reporting_currency }}' then amounts.month_last_day
            else month_end_rates.rate_date
        end as fx_rate_date,
        case
            when amounts.currency = '{{ reporting_currency }}' then cast(1 as decimal(20, 10))
            else month_end_rates.rate
        end as fx_rate
    from amounts
    left join month_end_rates
        on amounts.currency = month_end_rates.currency
        and amounts.mrr_month = month_end_rates.mrr_month

),

reporting as (

    select
        converted.*,
        cast(round(mrr_previous * fx_rate, {{ reporting_exponent }}) as decimal(20, 4))
            as mrr_previous_reporting,
        cast(round(mrr_current * fx_rate, {{ reporting_exponent }}) as decimal(20, 4))
            as mrr_current_reporting
    from converted

),

final as (

    select
        reporting.customer_id,
        reporting.mrr_month as month,
        {{ period_of_date('reporting.mrr_month') }} as period,
        customers.legal_entity_code,
        reporting.currency,
        cast(reporting.movement_type as varchar) as movement_type,
        reporting.mrr_previous,
        reporting.mrr_current,
        cast(reporting.mrr_current - reporting.mrr_previous as decimal(20, 4)) as mrr_change,
        cast(reporting.mrr_current * 12 as decimal(20, 4)) as arr_current,
        cast('{{ reporting_currency }}' as varchar) as reporting_currency,
        reporting.fx_rate,
        reporting.fx_rate_date,
        reporting.mrr_previous_reporting,
        reporting.mrr_current_reporting,
        cast(reporting.mrr_current_reporting - reporting.mrr_previous_reporting as decimal(20, 4))
            as mrr_change_reporting,
        cast(reporting.mrr_current_reporting * 12 as decimal(20, 4)) as arr_current_reporting
    from reporting
    left join customers
        on reporting.customer_id = customers.customer_id

)

select * from final
