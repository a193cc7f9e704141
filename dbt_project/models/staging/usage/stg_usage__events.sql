with

source as (

    select * from {{ source('usage', 'events') }}

),

renamed as (

    select
        ----------  ids
        event_id,
        customer as customer_id,
        subscription_item as subscription_item_id,

        ----------  text
        lower(metric) as metric,

        ----------  numerics
        quantity,

        ----------  timestamps
        occurred_at,
        received_at,
        _loaded_at

    from source

)

select * from renamed
