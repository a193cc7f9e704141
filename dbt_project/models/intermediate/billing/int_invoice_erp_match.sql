{#-
    Invoice <-> AR transaction at header level: one row per finalized billing invoice with
    the ERP invoice that claims it (only when exactly one does), the ERP's tax lines, and the
    timing state of an invoice the ERP does not have yet:
      in_transit  age <= grace_hours          (listed, not an exception)
      late        grace_hours < age <= grace_hours + late_hours
      missing     older than that
-#}
with

invoices as (select * from {{ ref('int_billing__invoices') }}),
erp as (select * from {{ ref('int_erp__invoice_documents') }})

select
    invoices.*,
    coalesce(erp.erp_count, 0) as erp_count,
    erp.erp_transaction_ids,
    erp.erp_total_sum_minor,
    case when erp.erp_count = 1 then erp.transaction_id end as erp_transaction_id,
    case when erp.erp_count = 1 then erp.transaction_number end as erp_transaction_number,
    case when erp.erp_count = 1 then erp.status end as erp_status,
    case when erp.erp_count = 1 then erp.currency end as erp_currency,
    case when erp.erp_count = 1 then erp.legal_entity_code end as erp_legal_entity_code,
    case when erp.erp_count = 1 then erp.billing_customer_id end as erp_billing_customer_id,
    case when erp.erp_count = 1 then erp.period end as erp_period,
    case when erp.erp_count = 1 then erp.period_is_closed end as erp_period_is_closed,
    case when erp.erp_count = 1 then erp.period_closed_at end as erp_period_closed_at,
    case when erp.erp_count = 1 then erp.created_at end as erp_created_at,
    case when erp.erp_count = 1 then erp.total_minor end as erp_total_minor,
    case when erp.erp_count = 1 then erp.remaining_minor end as erp_remaining_minor,
    case when erp.erp_count = 1 then erp.tax_minor end as erp_tax_minor,
    case when erp.erp_count = 1 then erp.revenue_minor end as erp_revenue_minor,
    case
        when erp.erp_count is not null then 'posted'
        when invoices.age_hours <= {{ var('grace_hours') }} then 'in_transit'
        when invoices.age_hours <= {{ var('grace_hours') }} + {{ var('late_hours') }} then 'late'
        else 'missing'
    end as erp_timing_status,
    case invoices.status
        when 'open' then 'open' when 'paid' then 'closed' when 'void' then 'voided'
        else invoices.status
    end as expected_erp_status
from invoices
left join erp on invoices.invoice_id = erp.external_id
