{#-
    Open receivable per billing customer and currency on both sides (DECISIONLOG "Customer
    AR"): billing = open invoices' amount remaining, leaving out invoices still in transit to
    the ERP; ERP = open customer invoices' remaining balance less unapplied payments and
    credits, mapped to the billing customer through the ERP customer's externalid, in the
    ERP transaction's currency.
-#}
with

billing as (
    select
        customer_id,
        currency,
        sum(amount_remaining_minor) as billing_open_minor,
        count(*) as billing_open_invoices
    from {{ ref('int_invoice_erp_match') }}
    where status = 'open' and erp_timing_status <> 'in_transit'
    group by customer_id, currency
),

erp as (
    select
        billing_customer_id as customer_id,
        currency,
        sum(case
            when transaction_type = 'invoice' and status = 'open' then remaining_minor
            when transaction_type in ('payment', 'credit_memo')
                and applied_to_transaction_id is null then -remaining_minor
            else 0
        end) as erp_open_minor,
        count(case when transaction_type = 'invoice' and status = 'open' then 1 end)
            as erp_open_invoices,
        count(case when transaction_type in ('payment', 'credit_memo')
            and applied_to_transaction_id is null and remaining_minor <> 0 then 1 end)
            as erp_unapplied_documents
    from {{ ref('int_erp__transactions') }}
    where billing_customer_id is not null
    group by billing_customer_id, currency
),

customers as (select * from {{ ref('stg_billing__customers') }})

select
    coalesce(billing.customer_id, erp.customer_id) as customer_id,
    coalesce(billing.currency, erp.currency) as currency,
    customers.legal_entity_code,
    coalesce(billing.billing_open_minor, 0) as billing_open_minor,
    coalesce(erp.erp_open_minor, 0) as erp_open_minor,
    coalesce(erp.erp_open_minor, 0) - coalesce(billing.billing_open_minor, 0) as difference_minor,
    coalesce(billing.billing_open_invoices, 0) as billing_open_invoices,
    coalesce(erp.erp_open_invoices, 0) as erp_open_invoices,
    coalesce(erp.erp_unapplied_documents, 0) as erp_unapplied_documents
from billing
full outer join erp on billing.customer_id = erp.customer_id and billing.currency = erp.currency
left join customers on coalesce(billing.customer_id, erp.customer_id) = customers.customer_id
