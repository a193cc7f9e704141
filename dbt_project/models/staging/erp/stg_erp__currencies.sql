with

source as (

    select * from {{ source('erp', 'currency') }}

),

renamed as (

    select
        id as currency_id,
        upper(symbol) as currency,
        name as currency_name,
        _loaded_at

    from source

)

select * from renamed
