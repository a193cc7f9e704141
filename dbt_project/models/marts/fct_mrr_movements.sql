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

    Computation (the same result, in a form that stays fast at millions of lines)
    - Local dates once per line, without a time-zone conversion per row: utc_days holds the
      accounting time zone's offset at the first and last second of every UTC day, and a day
      whose two offsets agree has no transition, so its local dates are arithmetic; transition
      days and instants outside 1971-2099 are converted as such.
    - Months are integer indexes (year × 12 + month − 1) until the final dates.
    - The latest cycle is settled per line, not per line and month: a line counts from its
      first month up to the month before the earliest first month of the subscription's
      later-ending lines (a later period end; the same one is the same cycle), provided each
      of those reaches at least as far as this line's last month, as consecutive cycles do.
      A line that a later-ending one does not reach past is settled month by month as
      defined, with the other lines of its subscription.
    - Each counted line-month is aggregated twice, as its month's MRR and as the next
      month's previous MRR, so one aggregation gives every customer month with the previous
      month's MRR (the churn rows included) without lag/lead over customers; the first month
      with MRR (new, not reactivation) is the earliest month with MRR and none before it.
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

snapshot as (

    select year(snapshot_date) * 12 + month(snapshot_date) - 1 as snapshot_month_index
    from (select {{ accounting_date(as_of()) }} as snapshot_date) as snapshot_dates

),

utc_days as (

    -- The accounting time zone's UTC offset (microseconds) at the first and the last second of
    -- every UTC day from 1971 to 2099 (day_number = days since 1970-01-01 UTC): 47,000
    -- conversions instead of two per line.
    select
        day_number,
        epoch_us({{ to_accounting_local('to_timestamp(day_number * 86400)') }})
            - day_number * 86400000000 as first_offset_us,
        epoch_us({{ to_accounting_local('to_timestamp(day_number * 86400 + 86399)') }})
            - (day_number * 86400 + 86399) * 1000000 as last_offset_us
    from range(365, 47482) as days(day_number)

),

recurring_lines as (

    select
        invoices.customer_id,
        lines.currency,
        coalesce(invoices.subscription_id, lines.subscription_item_id, lines.invoice_line_id)
            as subscription_key,
        lines.period_start_at,
        lines.period_end_at,
        prices.recurring_interval,
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
        -- A line without a period end is never the latest cycle of a month, and one without a
        -- service start has no month: neither can count.
        and lines.period_end_at is not null
        and lines.period_start_at is not null

),

local_days as (

    -- Service start and end as local dates (days since 1970-01-01 in the accounting time zone).
    select
        lines.*,
        case
            when start_day.first_offset_us = start_day.last_offset_us
                then (epoch_us(lines.period_start_at) + start_day.first_offset_us) // 86400000000
            else {{ accounting_date('lines.period_start_at') }} - date '1970-01-01'
        end as service_start_day,
        case
            when end_day.first_offset_us = end_day.last_offset_us
                then (epoch_us(lines.period_end_at) + end_day.first_offset_us) // 86400000000
            else {{ accounting_date('lines.period_end_at') }} - date '1970-01-01'
        end as service_end_day
    from recurring_lines as lines
    left join utc_days as start_day
        on start_day.day_number = epoch_us(lines.period_start_at) // 86400000000
    left join utc_days as end_day
        on end_day.day_number = epoch_us(lines.period_end_at) // 86400000000

),

normalised_lines as (

    select
        customer_id,
        currency,
        subscription_key,
        period_end_at,
        year(service_start_date) * 12 + month(service_start_date) - 1 as first_month_index,
        year(last_service_date) * 12 + month(last_service_date) - 1 as last_service_month_index,
        case
            when recurring_interval = 'month' then interval_amount_minor
            when recurring_interval = 'year' then {{ half_up_div('interval_amount_minor', 12) }}
        end as monthly_amount_minor
    from (
        select
            *,
            cast(date '1970-01-01' + cast(service_start_day as integer) as date)
                as service_start_date,
            -- The last service day: the day before the (exclusive) end, never before the start.
            cast(date '1970-01-01' + cast(greatest(service_start_day, service_end_day - 1)
                as integer) as date) as last_service_date
        from local_days
    ) as dated_lines

),

line_bounds as (

    select
        customer_id,
        currency,
        subscription_key,
        period_end_at,
        first_month_index,
        -- A line takes part in at most {{ max_service_months }} months: a longer span is cut
        -- there, and its amount is null rather than silently cut.
        least(last_service_month_index, first_month_index + {{ max_service_months - 1 }})
            as last_month_index,
        case
            when last_service_month_index - first_month_index < {{ max_service_months }}
                then monthly_amount_minor
        end as monthly_amount_minor
    from normalised_lines

),

later_cycles as (

    -- Per line, the earliest first month and the earliest last month among the lines of its
    -- subscription with a later period end (ties are the same cycle and do not compete).
    select
        *,
        min(first_month_index) over later as later_first_month_index,
        min(last_month_index) over later as later_last_month_index
    from line_bounds
    window later as (
        partition by subscription_key
        order by period_end_at
        range between current row and unbounded following exclude group
    )

),

counted_lines as (

    -- When every later line reaches at least as far as this line's last month (always so for
    -- consecutive cycles), the later lines cover exactly the months from the earliest of
    -- their first months on, so this line counts from its first month up to the month before.
    select
        customer_id,
        currency,
        first_month_index,
        least(last_month_index, later_first_month_index - 1) as counted_last_month_index,
        monthly_amount_minor
    from later_cycles
    where later_last_month_index is null
        or later_last_month_index >= last_month_index

),

overlapped_subscriptions as (

    -- Subscriptions with a line that a later-ending one does not reach past (a line whose
    -- start lies after its end, or a later line cut at {{ max_service_months }} months): their
    -- months are settled one by one below.
    select distinct subscription_key
    from later_cycles
    where later_last_month_index < last_month_index

),

overlapped_line_months as (

    select
        lines.customer_id,
        lines.currency,
        lines.subscription_key,
        lines.period_end_at,
        lines.later_last_month_index < lines.last_month_index as is_overlapped,
        months.month_index,
        lines.monthly_amount_minor
    from later_cycles as lines
    inner join overlapped_subscriptions
        on lines.subscription_key is not distinct from overlapped_subscriptions.subscription_key
    cross join snapshot
    cross join unnest(range(
        lines.first_month_index,
        least(lines.last_month_index, snapshot.snapshot_month_index) + 1
    )) as months(month_index)

),

overlapped_counted_months as (

    -- Per subscription and month only the lines of the latest cycle touching it count.
    select customer_id, currency, month_index, monthly_amount_minor
    from (
        select
            *,
            max(period_end_at) over (partition by subscription_key, month_index)
                as latest_period_end_at
        from overlapped_line_months
    ) as ranked
    where is_overlapped
        and period_end_at = latest_period_end_at

),

counted_months as (

    select
        lines.customer_id,
        lines.currency,
        months.month_index,
        lines.monthly_amount_minor
    from counted_lines as lines
    cross join snapshot
    cross join unnest(range(
        lines.first_month_index,
        least(lines.counted_last_month_index, snapshot.snapshot_month_index) + 1
    )) as months(month_index)

    union all

    select customer_id, currency, month_index, monthly_amount_minor
    from overlapped_counted_months

),

month_pairs as (

    -- Each counted line-month twice: as its month's MRR (month_shift 0) and as the next
    -- month's previous MRR (month_shift 1, only up to the snapshot's month).
    select
        counted_months.customer_id,
        counted_months.currency,
        counted_months.month_index + shifts.month_shift as month_index,
        shifts.month_shift,
        counted_months.monthly_amount_minor
    from counted_months
    cross join snapshot
    cross join (values (0), (1)) as shifts(month_shift)
    where counted_months.month_index + shifts.month_shift <= snapshot.snapshot_month_index

),

customer_months as (

    select
        customer_id,
        currency,
        month_index,
        count(*) filter (where month_shift = 0) as current_lines,
        -- Null when any contributing line has no monthly amount, so the not_null tests fire.
        case
            when count(*) filter (where month_shift = 0)
                = count(monthly_amount_minor) filter (where month_shift = 0)
                then sum(monthly_amount_minor) filter (where month_shift = 0)
        end as mrr_minor,
        count(*) filter (where month_shift = 1) as previous_lines,
        case
            when count(*) filter (where month_shift = 1)
                = count(monthly_amount_minor) filter (where month_shift = 1)
                then sum(monthly_amount_minor) filter (where month_shift = 1)
        end as previous_mrr_minor
    from month_pairs
    group by customer_id, currency, month_index

),

activity as (

    -- A month has MRR when it has counted lines and their sum is not exactly 0 (or is null).
    select
        customer_id,
        currency,
        month_index,
        current_lines > 0 and (mrr_minor is null or mrr_minor <> 0) as has_mrr,
        previous_lines > 0 and (previous_mrr_minor is null or previous_mrr_minor <> 0)
            as had_mrr,
        mrr_minor,
        previous_mrr_minor
    from customer_months

),

first_months as (

    -- A customer's first month with MRR is one without MRR the month before, so the months
    -- that start a run are enough to find it.
    select
        customer_id,
        currency,
        min(month_index) as first_month_index
    from activity
    where has_mrr and not had_mrr
    group by customer_id, currency

),

customer_first_months as materialized (

    -- Materialised: the customer lookup is made on these few rows, before the join to every
    -- month.
    select
        first_months.customer_id,
        first_months.currency,
        first_months.first_month_index,
        customers.legal_entity_code
    from first_months
    left join customers
        on first_months.customer_id = customers.customer_id

),

movements as (

    select
        activity.customer_id,
        customer_first_months.legal_entity_code,
        activity.currency,
        activity.month_index,
        case when activity.had_mrr then activity.previous_mrr_minor else 0 end
            as mrr_previous_minor,
        case when activity.has_mrr then activity.mrr_minor else 0 end as mrr_current_minor,
        case
            when not activity.has_mrr then 'churn'
            when activity.month_index = customer_first_months.first_month_index then 'new'
            when not activity.had_mrr then 'reactivation'
            when activity.mrr_minor > activity.previous_mrr_minor then 'expansion'
            when activity.mrr_minor < activity.previous_mrr_minor then 'contraction'
            else 'unchanged'
        end as movement_type
    from activity
    inner join customer_first_months
        on activity.customer_id is not distinct from customer_first_months.customer_id
        and activity.currency is not distinct from customer_first_months.currency
    where activity.has_mrr or activity.had_mrr

),

amounts as (

    select
        customer_id,
        legal_entity_code,
        currency,
        movement_type,
        cast(make_date(cast(month_index // 12 as integer), cast(month_index % 12 + 1 as integer), 1)
            as date) as mrr_month,
        {{ minor_to_major('mrr_previous_minor', 'currency') }} as mrr_previous,
        {{ minor_to_major('mrr_current_minor', 'currency') }} as mrr_current
    from movements

),

month_end_rates as (

    -- The latest rate of each month: the last day's, else the latest earlier one in the month.
    select
        from_currency as currency,
        cast({{ dbt.date_trunc('month', 'rate_date') }} as date) as mrr_month,
        max(rate_date) as rate_date,
        arg_max_null(rate, rate_date) as rate
    from fx_rates
    where to_currency = '{{ reporting_currency }}'
        and rate_date is not null
    group by from_currency, cast({{ dbt.date_trunc('month', 'rate_date') }} as date)

),

converted as (

    select
        amounts.*,
        case
            when amounts.currency = '{{ reporting_currency }}'
                then cast({{ dbt.last_day('amounts.mrr_month', 'month') }} as date)
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
        -- The reporting currency itself needs no rounding: its amounts have its exponent.
        case
            when currency = '{{ reporting_currency }}' then mrr_previous
            else cast(round(mrr_previous * fx_rate, {{ reporting_exponent }}) as decimal(20, 4))
        end as mrr_previous_reporting,
        case
            when currency = '{{ reporting_currency }}' then mrr_current
            else cast(round(mrr_current * fx_rate, {{ reporting_exponent }}) as decimal(20, 4))
        end as mrr_current_reporting
    from converted

),

final as (

    select
        customer_id,
        mrr_month as month,
        {{ period_of_date('mrr_month') }} as period,
        legal_entity_code,
        currency,
        cast(movement_type as varchar) as movement_type,
        mrr_previous,
        mrr_current,
        cast(mrr_current - mrr_previous as decimal(20, 4)) as mrr_change,
        cast(mrr_current * 12 as decimal(20, 4)) as arr_current,
        cast('{{ reporting_currency }}' as varchar) as reporting_currency,
        fx_rate,
        fx_rate_date,
        mrr_previous_reporting,
        mrr_current_reporting,
        cast(mrr_current_reporting - mrr_previous_reporting as decimal(20, 4))
            as mrr_change_reporting,
        cast(mrr_current_reporting * 12 as decimal(20, 4)) as arr_current_reporting
    from reporting

)

select * from final
