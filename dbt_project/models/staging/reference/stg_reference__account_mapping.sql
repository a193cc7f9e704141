with

source as (

    select * from {{ source('reference', 'account_mapping') }}

),

renamed as (

    select
        lower(event_class) as event_class,
        debit_acctnumber as debit_account_number,
        credit_acctnumber as credit_account_number,
        description,
        _loaded_at

    from source

)

select * from renamed
