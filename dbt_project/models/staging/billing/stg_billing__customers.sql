with

source as (

    select * from {{ source('billing', 'customers') }}

),

renamed as (

    select
        ----------  ids
        id as customer_id,
        upper(legal_entity) as legal_entity_code,

        ----------  text
        name as customer_name,
        email,
        upper(currency) as currency,

        ----------  timestamps
        {{ epoch_to_timestamp('created') }} as created_at,
        {{ epoch_to_timestamp('updated') }} as updated_at,
        _loaded_at

    from source

)

select * from renamed
