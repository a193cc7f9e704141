{#- Open receivable per billing customer and currency, billing vs ERP (DECISIONLOG "Customer AR"). -#}
select
    customer_id,
    currency,
    legal_entity_code,
    {{ minor_to_major('billing_open_minor', 'currency') }} as billing_open_amount,
    {{ minor_to_major('erp_open_minor', 'currency') }} as erp_open_amount,
    {{ minor_to_major('difference_minor', 'currency') }} as difference,
    billing_open_invoices,
    erp_open_invoices,
    erp_unapplied_documents,
    {{ is_aggregate_break('difference_minor', 'currency') }} as is_break
from {{ ref('int_ar__customer_balances') }}
