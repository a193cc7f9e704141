{#-
    Billing <-> ERP rules on invoice headers and credit notes (DESIGN §5), with the
    precedence of DECISIONLOG: a void billing invoice can only be a STATUS_MISMATCH; a
    duplicated ERP posting is only DUPLICATE_ERP_POSTING; a missing one only
    INVOICE_MISSING_IN_ERP; AR_INVOICE_MISMATCH only when currency, totals and status agree.
    Amounts are minor units; every row carries references that find the records.
-#}
with

matched as (select * from {{ ref('int_invoice_erp_match') }}),

single as (
    select
        *,
        currency = erp_currency as same_currency,
        erp_total_minor - total_minor as total_difference_minor,
        erp_tax_minor - tax_minor as tax_difference_minor,
        erp_revenue_minor - (total_minor - tax_minor) as revenue_difference_minor,
        erp_remaining_minor - amount_remaining_minor as remaining_difference_minor
    from matched
    where erp_count = 1
),

flagged as (
    select
        *,
        status <> 'void' and same_currency
            and {{ is_document_break('total_difference_minor', 'total_minor', 'currency') }}
            as is_amount_break,
        status <> 'void' and same_currency
            and {{ is_document_break('tax_difference_minor', 'tax_minor', 'currency') }}
            as is_tax_break
    from single
),

rules as (

    select
        'INVOICE_MISSING_IN_ERP' as rule, invoice_id, erp_timing_status as timing_status,
        total_minor as billing_amount_minor, cast(0 as bigint) as other_amount_minor,
        -total_minor as difference_minor,
        'not in the ERP ' || cast(cast(floor(age_hours) as bigint) as varchar)
            || ' h after finalization (grace period {{ var("grace_hours") }} h): '
            || erp_timing_status as reason
    from matched
    where erp_count = 0 and status <> 'void' and erp_timing_status in ('late', 'missing')

    union all

    select
        'DUPLICATE_ERP_POSTING', invoice_id, null, total_minor, erp_total_sum_minor,
        erp_total_sum_minor - total_minor,
        'posted ' || cast(erp_count as varchar) || ' times to the ERP (transactions '
            || erp_transaction_ids || ')'
    from matched
    where erp_count > 1 and status <> 'void'

    union all

    select
        'STATUS_MISMATCH', invoice_id, null,
        case when status = 'void' then 0 else total_minor end, erp_total_minor,
        erp_total_minor - case when status = 'void' then 0 else total_minor end,
        'billing status ' || status || ', ERP status ' || erp_status
            || ' (expected ' || expected_erp_status || ')'
    from single
    where erp_status <> expected_erp_status

    union all

    select
        'AMOUNT_MISMATCH', invoice_id, null, total_minor, erp_total_minor,
        total_difference_minor,
        'total differs by ' || {{ money_text('total_difference_minor', 'currency') }}
            || case when tax_difference_minor <> 0
                then '; tax: billing ' || {{ money_text('tax_minor', 'currency') }} || ', ERP '
                    || {{ money_text('erp_tax_minor', 'currency') }} else '' end
            || case when revenue_difference_minor <> 0
                then '; revenue lines: billing '
                    || {{ money_text('total_minor - tax_minor', 'currency') }} || ', ERP '
                    || {{ money_text('erp_revenue_minor', 'currency') }} else '' end
            || case when total_discount_minor <> 0
                then '; billing discount ' || {{ money_text('total_discount_minor', 'currency') }}
                else '' end
    from flagged
    where is_amount_break

    union all

    select
        'CURRENCY_MISMATCH', invoice_id, null, total_minor, erp_total_minor, cast(0 as bigint),
        'billed in ' || currency || ', posted in ' || erp_currency
    from single
    where status <> 'void' and not same_currency

    union all

    select
        'CUSTOMER_MISMATCH', invoice_id, null, total_minor, erp_total_minor,
        erp_total_minor - total_minor,
        'billed to ' || customer_id || ', posted to the ERP customer of '
            || coalesce(erp_billing_customer_id, 'no billing customer')
    from single
    where status <> 'void' and erp_billing_customer_id is distinct from customer_id

    union all

    select
        'ENTITY_MISMATCH', invoice_id, null, total_minor, erp_total_minor,
        erp_total_minor - total_minor,
        'billed by ' || coalesce(legal_entity_code, '?') || ', posted to '
            || coalesce(erp_legal_entity_code, '?')
    from single
    where status <> 'void' and erp_legal_entity_code is distinct from legal_entity_code

    union all

    select
        'PERIOD_MISMATCH', invoice_id, null, total_minor, erp_total_minor,
        erp_total_minor - total_minor,
        'period cutoff: finalized in ' || period || ' ({{ var("accounting_timezone") }}), posted to '
            || erp_period
    from single
    where status <> 'void' and erp_period <> period

    union all

    select
        'CLOSED_PERIOD_POSTING', invoice_id, null, total_minor, erp_total_minor,
        erp_total_minor - total_minor,
        'created in the ERP at ' || strftime(erp_created_at, '%Y-%m-%d %H:%M UTC')
            || ', after period ' || erp_period || ' closed at '
            || strftime(erp_period_closed_at, '%Y-%m-%d %H:%M UTC')
    from single
    where status <> 'void' and erp_period_is_closed and erp_created_at > erp_period_closed_at

    union all

    select
        'TAX_MISMATCH', invoice_id, null, tax_minor, erp_tax_minor, tax_difference_minor,
        'tax: billing ' || {{ money_text('tax_minor', 'currency') }} || ', ERP tax lines '
            || {{ money_text('erp_tax_minor', 'currency') }}
            || case when revenue_difference_minor = -tax_difference_minor
                then '; the difference sits in the revenue lines' else '' end
    from flagged
    where is_tax_break

    union all

    select
        'AR_INVOICE_MISMATCH', invoice_id, null, amount_remaining_minor, erp_remaining_minor,
        remaining_difference_minor,
        'open balance: billing ' || {{ money_text('amount_remaining_minor', 'currency') }}
            || ', ERP ' || {{ money_text('erp_remaining_minor', 'currency') }}
            || case when remaining_difference_minor < 0
                then ' (a payment or credit exists only in the ERP)'
                else ' (a payment or credit exists only in billing)' end
    from flagged
    where status <> 'void' and same_currency and not is_amount_break
        and erp_status = expected_erp_status
        and {{ is_document_break('remaining_difference_minor', 'amount_remaining_minor', 'currency') }}

)

select
    rules.rule,
    'invoice:' || rules.invoice_id as natural_key,
    matched.legal_entity_code as entity,
    matched.currency,
    matched.period,
    rules.timing_status,
    rules.billing_amount_minor,
    'erp' as other_system,
    rules.other_amount_minor,
    rules.difference_minor,
    rules.reason,
    'billing invoice ' || matched.invoice_id || ' (' || matched.invoice_number || ')' as billing_ref,
    case
        when matched.erp_count = 1
            then 'ERP ' || matched.erp_transaction_number || ' (internal id '
                || cast(matched.erp_transaction_id as varchar) || ')'
        when matched.erp_count > 1 then 'ERP internal ids ' || matched.erp_transaction_ids
    end as erp_ref,
    cast(null as varchar) as revrec_ref,
    matched.document_date as fx_date
from rules
inner join matched on rules.invoice_id = matched.invoice_id

union all

{# Credit notes: in transit / late / missing like invoices, by creation time. #}
select
    'CREDIT_NOTE_MISSING_IN_ERP',
    'credit_note:' || credit_note_id,
    legal_entity_code,
    currency,
    period,
    erp_timing_status,
    total_minor,
    'erp',
    cast(0 as bigint),
    -total_minor,
    'credit note not in the ERP ' || cast(cast(floor(age_hours) as bigint) as varchar)
        || ' h after it was issued (' || credit_note_type || ', refund '
        || {{ money_text('refund_amount_minor', 'currency') }} || ')',
    'billing credit note ' || credit_note_id || ' (' || credit_note_number
        || ') on invoice ' || invoice_id,
    cast(null as varchar),
    cast(null as varchar),
    document_date
from {{ ref('int_credit_note_erp_match') }}
where erp_timing_status in ('late', 'missing')

union all

{# ERP invoices no billing invoice stands behind (no or unknown externalid). #}
select
    'ERP_INVOICE_NOT_IN_BILLING',
    'erp_transaction:' || cast(erp.transaction_id as varchar),
    erp.legal_entity_code,
    erp.currency,
    erp.period,
    null,
    cast(0 as bigint),
    'erp',
    erp.total_minor,
    erp.total_minor,
    case when erp.external_id is null then 'ERP invoice without externalid (entered manually?)'
        else 'ERP invoice names billing invoice ' || erp.external_id || ', which billing does not have'
    end,
    cast(null as varchar),
    'ERP ' || erp.transaction_number || ' (internal id ' || cast(erp.transaction_id as varchar) || ')',
    cast(null as varchar),
    erp.transaction_date
from {{ ref('int_erp__transactions') }} as erp
left join {{ ref('stg_billing__invoices') }} as billing on erp.external_id = billing.invoice_id
where erp.transaction_type = 'invoice' and erp.status <> 'voided' and billing.invoice_id is null
