with

source as (

    select * from {{ source('erp', 'account') }}

),

renamed as (

    select
        id as account_id,
        acctnumber as account_number,
        fullname as account_name,
        accttype as account_type,
        _loaded_at

    from source

)

select * from renamed
