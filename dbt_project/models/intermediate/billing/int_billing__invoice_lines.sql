{#-
    Billing invoice lines with what revenue recognition needs: the product's recognition
    method, credits against the line (credit note lines), and the service dates the policy
    expects (DECISIONLOG "Revenue recognition policy"):
      ratable        local dates of period start/end, end exclusive; under a day -> start month
      point_in_time  the invoice's finalization date
      usage          the cycle's dates; recognised in the month of its last instant
    `expected_total_minor` is the line amount net of its credits, the schedule total.
-#}
with

lines as (select * from {{ ref('stg_billing__invoice_lines') }}),
invoices as (select * from {{ ref('int_billing__invoices') }}),
products as (select * from {{ ref('stg_billing__products') }}),

credits as (
    select
        credit_lines.invoice_line_id,
        sum(credit_lines.amount_minor) as credited_minor,
        count(distinct credit_lines.credit_note_id) as credit_note_count,
        min(credit_lines.credit_note_id) as credit_note_id
    from {{ ref('stg_billing__credit_note_lines') }} as credit_lines
    inner join {{ ref('stg_billing__credit_notes') }} as notes
        on credit_lines.credit_note_id = notes.credit_note_id
    where notes.status <> 'void'
    group by credit_lines.invoice_line_id
),

joined as (
    select
        lines.invoice_line_id,
        lines.invoice_id,
        lines.subscription_item_id,
        lines.price_id,
        lines.is_proration,
        lines.quantity,
        lines.currency,
        invoices.legal_entity_code,
        invoices.status as invoice_status,
        invoices.finalized_at,
        invoices.document_date,
        invoices.period as invoice_period,
        invoices.age_hours,
        products.recognition_method,
        lines.amount_minor,
        lines.discount_amount_minor,
        coalesce(credits.credited_minor, 0) as credited_minor,
        coalesce(credits.credit_note_count, 0) as credit_note_count,
        credits.credit_note_id,
        lines.amount_minor - coalesce(credits.credited_minor, 0) as expected_total_minor,
        lines.period_start_at,
        lines.period_end_at,
        {{ accounting_date('lines.period_start_at') }} as local_start_date,
        {{ accounting_date('lines.period_end_at') }} as local_end_date
    from lines
    inner join invoices on lines.invoice_id = invoices.invoice_id
    left join products on lines.product_id = products.product_id
    left join credits on lines.invoice_line_id = credits.invoice_line_id
)

select
    *,
    amount_minor <> 0 and invoice_status <> 'void' as is_recognisable,
    case
        when recognition_method = 'point_in_time' then document_date
        else local_start_date
    end as expected_service_start,
    case
        when recognition_method = 'point_in_time' then document_date
        when local_end_date > local_start_date
            then cast({{ dbt.dateadd('day', -1, 'local_end_date') }} as date)
        else local_start_date
    end as expected_service_end,
    case
        when recognition_method = 'usage'
            then {{ accounting_period(dbt.dateadd('second', -1, 'period_end_at')) }}
        when recognition_method = 'point_in_time' then {{ period_of_date('document_date') }}
        when local_end_date <= local_start_date then {{ period_of_date('local_start_date') }}
    end as single_period
from joined
