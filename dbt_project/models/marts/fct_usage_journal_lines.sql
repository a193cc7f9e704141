{{ config(materialized='view') }}
{#-
    The usage journal as it should stand (DESIGN §7): per micro-batch window, legal entity,
    currency and product, the rated usage as a balanced pair of lines - debit unbilled
    receivable, credit usage revenue, accounts from the reference mapping (event class
    usage_accrual).  One journal scope (journal_scope_id) is window x entity x currency: the
    poster compares this desired state with what its ledger already holds for the scope and
    posts only the difference, as a new batch version.  A view, read at posting time.
-#}
with

mapping as (
    select debit_account_number, credit_account_number
    from {{ ref('stg_reference__account_mapping') }}
    where event_class = 'usage_accrual'
),

scopes as (
    select
        window_start_at,
        window_end_at,
        legal_entity_code,
        currency,
        product_id,
        sum(quantity) as quantity,
        sum(billable_quantity) as billable_quantity,
        sum(event_count) as event_count,
        sum(rated_minor) as amount_minor
    from {{ ref('int_usage__rated_windows') }}
    where unrated_reason is null
    group by window_start_at, window_end_at, legal_entity_code, currency, product_id
),

sides as (
    select 'debit' as line_side, 1 as side_order
    union all
    select 'credit', 2
)

select
    {# source, entity, currency, window start (UTC) and length: the batch's idempotency scope #}
    'usage:' || scopes.legal_entity_code || ':' || scopes.currency || ':'
        || strftime(scopes.window_start_at at time zone 'UTC', '%Y%m%dT%H%MZ') || ':'
        || '{{ var("journal_window_minutes") }}m' as journal_scope_id,
    scopes.window_start_at,
    scopes.window_end_at,
    {{ accounting_date('scopes.window_start_at') }} as accounting_date,
    {{ accounting_period('scopes.window_start_at') }} as accounting_period,
    scopes.legal_entity_code,
    scopes.currency,
    scopes.product_id,
    sides.line_side,
    case sides.line_side
        when 'debit' then mapping.debit_account_number
        else mapping.credit_account_number
    end as account_number,
    cast(scopes.amount_minor as bigint) as amount_minor,
    {{ minor_to_major('scopes.amount_minor', 'scopes.currency') }} as amount,
    case when sides.line_side = 'debit'
        then {{ minor_to_major('scopes.amount_minor', 'scopes.currency') }}
        else cast(0 as decimal(20, 4)) end as debit_amount,
    case when sides.line_side = 'credit'
        then {{ minor_to_major('scopes.amount_minor', 'scopes.currency') }}
        else cast(0 as decimal(20, 4)) end as credit_amount,
    cast(scopes.quantity as bigint) as quantity,
    cast(scopes.billable_quantity as bigint) as billable_quantity,
    cast(scopes.event_count as bigint) as event_count
from scopes
cross join sides
{# a missing mapping leaves the accounts null (a failing test), never drops the usage #}
left join mapping on true
