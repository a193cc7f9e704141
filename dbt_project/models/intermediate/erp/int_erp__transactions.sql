{#-
    ERP transactions in business terms: legal entity code instead of subsidiary id, the
    billing customer behind the ERP customer (its externalid), the posting period as
    'YYYY-MM' with its close time, and amounts in integer minor units for exact rules.
-#}
with

transactions as (select * from {{ ref('stg_erp__transactions') }}),
subsidiaries as (select * from {{ ref('stg_erp__subsidiaries') }}),
customers as (select * from {{ ref('stg_erp__customers') }}),
periods as (select * from {{ ref('stg_erp__accountingperiods') }})

select
    transactions.transaction_id,
    transactions.transaction_number,
    transactions.transaction_type,
    transactions.status,
    transactions.external_id,
    transactions.currency,
    subsidiaries.legal_entity_code,
    transactions.customer_id as erp_customer_id,
    customers.billing_customer_id,
    transactions.applied_to_transaction_id,
    {{ period_of_date('periods.start_date') }} as period,
    periods.is_closed as period_is_closed,
    periods.closed_at as period_closed_at,
    {{ major_to_minor('transactions.foreign_total', 'transactions.currency') }} as total_minor,
    {{ major_to_minor('transactions.foreign_amount_remaining', 'transactions.currency') }}
        as remaining_minor,
    transactions.transaction_date,
    transactions.due_date,
    transactions.created_at
from transactions
left join subsidiaries on transactions.subsidiary_id = subsidiaries.subsidiary_id
left join customers on transactions.customer_id = customers.customer_id
left join periods on transactions.accounting_period_id = periods.accounting_period_id
