with

source as (

    select * from {{ source('reference', 'legal_entities') }}

),

renamed as (

    select
        upper(code) as legal_entity_code,
        erp_subsidiary_id as subsidiary_id,
        name as legal_entity_name,
        upper(base_currency) as base_currency,
        upper(currencies) as billing_currencies,
        _loaded_at

    from source

)

select * from renamed
