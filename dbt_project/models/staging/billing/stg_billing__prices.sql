with

source as (

    select * from {{ source('billing', 'prices') }}

),

renamed as (

    select
        ----------  ids
        id as price_id,
        product as product_id,

        ----------  text
        upper(currency) as currency,
        lower(recurring_interval) as recurring_interval,
        lower(usage_type) as usage_type,

        ----------  numerics
        unit_amount as unit_amount_minor,
        {{ minor_to_major('unit_amount', 'currency') }} as unit_amount,
        included_quantity,

        ----------  timestamps
        {{ epoch_to_timestamp('created') }} as created_at,
        {{ epoch_to_timestamp('updated') }} as updated_at,
        _loaded_at

    from source

)

select * from renamed
