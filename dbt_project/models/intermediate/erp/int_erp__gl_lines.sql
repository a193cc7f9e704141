{#-
    GL lines with their account number and their transaction's entity, currency and posting
    period: the grain every ledger aggregate (roll-forward, usage revenue, tax) sums over.
    Amounts are signed, debit positive, in minor units of the transaction currency.  Kept
    narrow on purpose: at a million invoices this is the largest table of the project.
-#}
with

lines as (select * from {{ ref('stg_erp__transactionlines') }}),
accounts as (select * from {{ ref('stg_erp__accounts') }}),
transactions as (select * from {{ ref('int_erp__transactions') }})

select
    lines.transaction_id,
    transactions.transaction_type,
    transactions.legal_entity_code,
    transactions.currency,
    transactions.period,
    accounts.account_number,
    lines.is_main_line,
    lines.is_tax_line,
    {{ major_to_minor('lines.foreign_amount', 'transactions.currency') }} as amount_minor,
    lines.line_last_modified_at
from lines
inner join transactions on lines.transaction_id = transactions.transaction_id
left join accounts on lines.account_id = accounts.account_id
