{#- Every usage journal scope balances: debits = credits (one currency per scope). -#}
select journal_scope_id, sum(debit_amount) as debits, sum(credit_amount) as credits
from {{ ref('fct_usage_journal_lines') }}
group by journal_scope_id
having sum(debit_amount) <> sum(credit_amount)
