{#-
    Billing credit note <-> ERP credit memo (externalid), one row per credit note that is not
    void, with the same timing states as invoices (int_invoice_erp_match): posted, or
    in_transit / late / missing by the credit note's age at the snapshot.
-#}
with

notes as (
    select * from {{ ref('stg_billing__credit_notes') }} where status <> 'void'
),

posted as (
    select distinct external_id from {{ ref('int_erp__transactions') }}
    where transaction_type = 'credit_memo'
),

aged as (
    select
        notes.credit_note_id,
        notes.credit_note_number,
        notes.credit_note_type,
        notes.invoice_id,
        invoices.legal_entity_code,
        notes.currency,
        notes.total_minor,
        notes.refund_amount_minor,
        {{ accounting_date('notes.created_at') }} as document_date,
        {{ accounting_period('notes.created_at') }} as period,
        {{ age_hours('notes.created_at') }} as age_hours,
        posted.external_id is not null as is_posted
    from notes
    left join {{ ref('int_billing__invoices') }} as invoices
        on notes.invoice_id = invoices.invoice_id
    left join posted on notes.credit_note_id = posted.external_id
)

select
    * exclude (is_posted),
    case
        when is_posted then 'posted'
        when age_hours <= {{ var('grace_hours') }} then 'in_transit'
        when age_hours <= {{ var('grace_hours') }} + {{ var('late_hours') }} then 'late'
        else 'missing'
    end as erp_timing_status
from aged
