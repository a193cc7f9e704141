with

source as (

    select * from {{ source('billing', 'products') }}

),

renamed as (

    select
        ----------  ids
        id as product_id,

        ----------  text
        name as product_name,
        lower(revenue_class) as revenue_class,
        lower(recognition) as recognition_method,

        ----------  timestamps
        {{ epoch_to_timestamp('created') }} as created_at,
        {{ epoch_to_timestamp('updated') }} as updated_at,
        _loaded_at

    from source

)

select * from renamed
