with

source as (

    select * from {{ source('erp', 'transactionline') }}

),

renamed as (

    select
        ----------  ids
        id as transaction_line_id,
        transaction as transaction_id,
        account as account_id,
        subsidiary as subsidiary_id,
        custcol_invoice_line as billing_invoice_line_id,

        ----------  text
        memo,

        ----------  booleans
        {{ flag_to_boolean('mainline') }} as is_main_line,
        {{ flag_to_boolean('taxline') }} as is_tax_line,

        ----------  numerics (transaction currency)
        linesequencenumber as line_sequence_number,
        cast(foreignamount as decimal(20, 2)) as foreign_amount,

        ----------  timestamps
        linelastmodifieddate as line_last_modified_at,
        _loaded_at

    from source

)

select * from renamed
