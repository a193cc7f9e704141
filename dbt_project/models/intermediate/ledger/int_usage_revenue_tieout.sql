{#-
    Usage revenue per legal entity, currency and accounting period: what tieout posted as
    usage journals (ops.journal_batches, status posted) against the ERP GL on the usage
    revenue account (the credit account the reference account mapping gives usage accruals).
-#}
with

usage_accounts as (
    select credit_account_number as account_number
    from {{ ref('stg_reference__account_mapping') }}
    where event_class = 'usage_accrual'
),

erp as (
    select legal_entity_code, currency, period, -sum(amount_minor) as erp_usage_revenue_minor
    from {{ ref('int_erp__gl_lines') }}
    where account_number in (select account_number from usage_accounts)
    group by legal_entity_code, currency, period
),

posted as (
    select
        legal_entity_code,
        currency,
        posting_period as period,
        sum({{ major_to_minor('amount', 'currency') }}) as posted_minor,
        count(*) as posted_batches
    from {{ ref('stg_ops__journal_batches') }}
    where status = 'posted'
    group by legal_entity_code, currency, posting_period
),

periods as (
    select {{ period_of_date('start_date') }} as period, is_closed, end_date
    from {{ ref('stg_erp__accountingperiods') }}
)

select
    coalesce(posted.legal_entity_code, erp.legal_entity_code) as legal_entity_code,
    coalesce(posted.currency, erp.currency) as currency,
    coalesce(posted.period, erp.period) as period,
    coalesce(periods.is_closed, false) as is_closed,
    periods.end_date as period_end_date,
    coalesce(posted.posted_minor, 0) as posted_minor,
    coalesce(posted.posted_batches, 0) as posted_batches,
    coalesce(erp.erp_usage_revenue_minor, 0) as erp_usage_revenue_minor,
    coalesce(erp.erp_usage_revenue_minor, 0) - coalesce(posted.posted_minor, 0) as difference_minor
from posted
full outer join erp
    on posted.legal_entity_code = erp.legal_entity_code
    and posted.currency = erp.currency
    and posted.period = erp.period
left join periods on coalesce(posted.period, erp.period) = periods.period
