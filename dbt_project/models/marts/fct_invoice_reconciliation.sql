{#-
    Billing invoice <-> ERP invoice, one row per finalized billing invoice: both sides'
    header fields, the differences, and the match state.  The grain is the billing invoice;
    a duplicated ERP posting shows as erp_count > 1 with no ERP attributes.
-#}
select
    invoice_id,
    invoice_number,
    customer_id,
    legal_entity_code,
    currency,
    period,
    status,
    finalized_at,
    erp_count,
    erp_transaction_id,
    erp_transaction_ids,
    erp_status,
    erp_currency,
    erp_legal_entity_code,
    erp_billing_customer_id,
    erp_period,
    {{ minor_to_major('total_minor', 'currency') }} as billing_total,
    {{ minor_to_major('erp_total_minor', 'currency') }} as erp_total,
    {{ minor_to_major('erp_total_minor - total_minor', 'currency') }} as total_difference,
    {{ minor_to_major('tax_minor', 'currency') }} as billing_tax,
    {{ minor_to_major('erp_tax_minor', 'currency') }} as erp_tax,
    {{ minor_to_major('amount_remaining_minor', 'currency') }} as billing_amount_remaining,
    {{ minor_to_major('erp_remaining_minor', 'currency') }} as erp_amount_remaining,
    case
        when erp_count > 1 then 'duplicated'
        when erp_count = 0 then erp_timing_status
        when erp_total_minor = total_minor and erp_status = expected_erp_status
            and erp_currency = currency and erp_period = period
            and erp_billing_customer_id = customer_id
            and erp_legal_entity_code = legal_entity_code then 'matched'
        else 'differs'
    end as match_status
from {{ ref('int_invoice_erp_match') }}
