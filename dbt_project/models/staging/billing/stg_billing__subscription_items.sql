with

source as (

    select * from {{ source('billing', 'subscription_items') }}

),

renamed as (

    select
        ----------  ids
        id as subscription_item_id,
        subscription as subscription_id,
        price as price_id,
        product as product_id,

        ----------  numerics
        quantity,

        ----------  timestamps
        {{ epoch_to_timestamp('created') }} as created_at,
        {{ epoch_to_timestamp('updated') }} as updated_at,
        _loaded_at

    from source

)

select * from renamed
