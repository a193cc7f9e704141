with

source as (

    select * from {{ source('reference', 'currencies') }}

),

renamed as (

    select
        upper(code) as currency,
        cast(exponent as {{ dbt.type_int() }}) as exponent,
        name as currency_name,
        _loaded_at

    from source

)

select * from renamed
