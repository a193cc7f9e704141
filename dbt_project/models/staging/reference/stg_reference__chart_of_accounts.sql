with

source as (

    select * from {{ source('reference', 'chart_of_accounts') }}

),

renamed as (

    select
        acctnumber as account_number,
        name as account_name,
        accttype as account_type,
        _loaded_at

    from source

)

select * from renamed
