{#-
    Aggregate and ledger rules: AR_CUSTOMER_MISMATCH, ROLLFORWARD_BREAK and
    USAGE_JOURNAL_MISMATCH (absolute tolerance only, closed periods for the ledger ones),
    and RESTATEMENT: an ERP transaction created before its period closed with a GL line
    modified after the close (header lastmodifieddate moves with payments and is ignored).
-#}
select
    'AR_CUSTOMER_MISMATCH' as rule,
    'customer:' || customer_id || '|' || currency as natural_key,
    legal_entity_code as entity,
    currency,
    cast(null as varchar) as period,
    cast(null as varchar) as timing_status,
    billing_open_minor as billing_amount_minor,
    'erp' as other_system,
    erp_open_minor as other_amount_minor,
    difference_minor,
    'open receivable: billing ' || {{ money_text('billing_open_minor', 'currency') }}
        || ' on ' || cast(billing_open_invoices as varchar) || ' open invoices, ERP '
        || {{ money_text('erp_open_minor', 'currency') }} || ' on '
        || cast(erp_open_invoices as varchar) || ' open invoices'
        || case when erp_unapplied_documents > 0
            then ' and ' || cast(erp_unapplied_documents as varchar) || ' unapplied payments/credits'
            else '' end as reason,
    'billing customer ' || customer_id as billing_ref,
    'ERP customer with externalid ' || customer_id as erp_ref,
    cast(null as varchar) as revrec_ref,
    cast({{ as_of() }} as date) as fx_date
from {{ ref('int_ar__customer_balances') }}
where {{ is_aggregate_break('difference_minor', 'currency') }}

union all

select
    'ROLLFORWARD_BREAK',
    'rollforward:' || legal_entity_code || '|' || currency || '|' || period,
    legal_entity_code,
    currency,
    period,
    null,
    revrec_movement_minor,
    'erp',
    erp_movement_minor,
    difference_minor,
    'deferred revenue movement in ' || period || ': revrec '
        || {{ money_text('revrec_movement_minor', 'currency') }} || ' (bookings '
        || {{ money_text('revrec_bookings_minor', 'currency') }} || ' less recognised '
        || {{ money_text('revrec_recognised_minor', 'currency') }} || '), ERP deferred revenue GL '
        || {{ money_text('erp_movement_minor', 'currency') }},
    null,
    'ERP deferred revenue account, ' || legal_entity_code || ' ' || currency || ' ' || period,
    'revrec schedules booked or recognised in ' || period,
    period_end_date
from {{ ref('int_deferred_revenue_movements') }}
where is_closed and {{ is_aggregate_break('difference_minor', 'currency') }}

union all

select
    'USAGE_JOURNAL_MISMATCH',
    'usage_revenue:' || legal_entity_code || '|' || currency || '|' || period,
    legal_entity_code,
    currency,
    period,
    null,
    posted_minor,
    'erp',
    erp_usage_revenue_minor,
    difference_minor,
    'usage revenue in ' || period || ': tieout posted '
        || {{ money_text('posted_minor', 'currency') }} || ' in '
        || cast(posted_batches as varchar) || ' journal batches, ERP usage revenue GL '
        || {{ money_text('erp_usage_revenue_minor', 'currency') }},
    'tieout usage journals (ops.journal_batches)',
    'ERP usage revenue account, ' || legal_entity_code || ' ' || currency || ' ' || period,
    null,
    period_end_date
from {{ ref('int_usage_revenue_tieout') }}
where is_closed and {{ is_aggregate_break('difference_minor', 'currency') }}

union all

select
    'RESTATEMENT',
    'erp_transaction:' || cast(transactions.transaction_id as varchar),
    transactions.legal_entity_code,
    transactions.currency,
    transactions.period,
    null,
    transactions.total_minor,
    'erp',
    transactions.total_minor,
    cast(0 as bigint),
    'period ' || transactions.period || ' closed '
        || strftime(transactions.period_closed_at, '%Y-%m-%d %H:%M UTC') || '; '
        || cast(edited.lines_changed as varchar) || ' GL line(s) changed after it, last '
        || strftime(edited.last_change_at, '%Y-%m-%d %H:%M UTC'),
    case when transactions.external_id is not null
        then 'billing document ' || transactions.external_id end,
    'ERP ' || transactions.transaction_number || ' (internal id '
        || cast(transactions.transaction_id as varchar) || ')',
    null,
    transactions.transaction_date
from {{ ref('int_erp__transactions') }} as transactions
inner join (
    select
        lines.transaction_id,
        count(*) as lines_changed,
        max(lines.line_last_modified_at) as last_change_at
    from {{ ref('int_erp__gl_lines') }} as lines
    inner join {{ ref('int_erp__transactions') }} as owners
        on lines.transaction_id = owners.transaction_id
    where owners.period_is_closed and lines.line_last_modified_at > owners.period_closed_at
    group by lines.transaction_id
) as edited on transactions.transaction_id = edited.transaction_id
where transactions.created_at <= transactions.period_closed_at
