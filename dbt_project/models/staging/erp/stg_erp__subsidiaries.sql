with

source as (

    select * from {{ source('erp', 'subsidiary') }}

),

renamed as (

    select
        ----------  ids
        id as subsidiary_id,
        upper(externalid) as legal_entity_code,
        currency as currency_id,

        ----------  text
        name as subsidiary_name,
        _loaded_at

    from source

)

select * from renamed
