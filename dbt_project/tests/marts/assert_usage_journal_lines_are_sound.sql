{#-
    fct_usage_journal_lines in one pass (a view: every test recomputes the rating, so its
    checks share one): every journal scope balances (debits = credits, one currency per
    scope); one line per scope, product and side; keys, side and accounts always set.
-#}
with

lines as (select * from {{ ref('fct_usage_journal_lines') }}),

scopes as (
    select
        journal_scope_id,
        'scope does not balance: debits ' || cast(sum(debit_amount) as varchar)
            || ', credits ' || cast(sum(credit_amount) as varchar) as problem
    from lines
    group by journal_scope_id
    having sum(debit_amount) <> sum(credit_amount) or count(distinct currency) <> 1
),

grain as (
    select journal_scope_id, 'more than one line for ' || product_id || ' ' || line_side
    from lines
    group by journal_scope_id, product_id, line_side
    having count(*) > 1
),

fields as (
    select journal_scope_id, 'a key, side or account is missing or unknown'
    from lines
    where journal_scope_id is null or window_start_at is null or legal_entity_code is null
        or currency is null or product_id is null or account_number is null
        or amount_minor is null or line_side not in ('debit', 'credit')
        or line_side is null
)

select * from scopes
union all
select * from grain
union all
select * from fields
