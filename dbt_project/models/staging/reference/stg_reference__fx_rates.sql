with

source as (

    select * from {{ source('reference', 'fx_rates') }}

),

renamed as (

    select
        rate_date,
        upper(from_currency) as from_currency,
        upper(to_currency) as to_currency,
        cast(rate as decimal(20, 10)) as rate,
        _loaded_at

    from source

)

select * from renamed
