{#- Usage journal batches tieout posted (or tried to post) to the ERP. -#}
select
    batch_id,
    batch_version,
    external_id,
    legal_entity as legal_entity_code,
    upper(currency) as currency,
    window_start as window_start_at,
    window_end as window_end_at,
    posting_period,
    cast(amount as decimal(20, 4)) as amount,
    lower(status) as status,
    erp_transaction_id,
    created_at,
    updated_at
from {{ source('ops', 'journal_batches') }}
