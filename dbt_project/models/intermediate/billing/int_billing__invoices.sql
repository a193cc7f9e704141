{#-
    Finalized billing invoices with the legal entity that issued them (the customer's), the
    accounting period of finalization and the document's age at the snapshot, which the
    timing rules turn into in transit / late / missing.
-#}
with

invoices as (select * from {{ ref('stg_billing__invoices') }}),
customers as (select * from {{ ref('stg_billing__customers') }})

select
    invoices.invoice_id,
    invoices.invoice_number,
    invoices.customer_id,
    invoices.subscription_id,
    invoices.charge_id,
    invoices.status,
    invoices.billing_reason,
    invoices.currency,
    customers.legal_entity_code,
    invoices.subtotal_minor,
    invoices.total_discount_minor,
    invoices.tax_minor,
    invoices.total_minor,
    invoices.amount_remaining_minor,
    invoices.period_start_at,
    invoices.period_end_at,
    invoices.finalized_at,
    {{ accounting_date('invoices.finalized_at') }} as document_date,
    {{ accounting_period('invoices.finalized_at') }} as period,
    {{ age_hours('invoices.finalized_at') }} as age_hours
from invoices
left join customers on invoices.customer_id = customers.customer_id
where invoices.finalized_at is not null
