{#-
    NetSuite transactions.  Type and status become canonical enums (the codes are kept):
    status A -> open, B/C -> closed (paid in full, fully applied, deposited, approved),
    V or voided = 'T' -> voided.  The currency code is looked up on the ERP currency list.
-#}
with

source as (

    select * from {{ source('erp', 'transaction') }}

),

currencies as (

    select id, symbol from {{ source('erp', 'currency') }}

),

renamed as (

    select
        ----------  ids
        source.id as transaction_id,
        source.tranid as transaction_number,
        source.externalid as external_id,
        source.entity as customer_id,
        source.subsidiary as subsidiary_id,
        source.currency as currency_id,
        source.postingperiod as accounting_period_id,
        source.appliedto as applied_to_transaction_id,

        ----------  text
        source.type as transaction_type_code,
        case source.type
            when 'CustInvc' then 'invoice'
            when 'CustPymt' then 'payment'
            when 'CustCred' then 'credit_memo'
            when 'CustRfnd' then 'refund'
            when 'Journal' then 'journal'
        end as transaction_type,
        source.status as status_code,
        case
            when source.status = 'V' or source.voided = 'T' then 'voided'
            when source.status = 'A' then 'open'
            when source.status in ('B', 'C') then 'closed'
        end as status,
        upper(currencies.symbol) as currency,
        source.memo,

        ----------  booleans
        {{ flag_to_boolean('source.voided') }} as is_voided,

        ----------  numerics (transaction currency)
        source.exchangerate as exchange_rate,
        cast(source.foreigntotal as decimal(20, 2)) as foreign_total,
        cast(source.foreignamountremaining as decimal(20, 2)) as foreign_amount_remaining,

        ----------  dates and timestamps
        source.trandate as transaction_date,
        source.duedate as due_date,
        source.createddate as created_at,
        source.lastmodifieddate as last_modified_at,
        source._loaded_at

    from source
    left join currencies
        on source.currency = currencies.id

)

select * from renamed
