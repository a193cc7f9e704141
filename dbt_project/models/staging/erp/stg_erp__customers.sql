with

source as (

    select * from {{ source('erp', 'customer') }}

),

renamed as (

    select
        ----------  ids
        id as customer_id,
        externalid as billing_customer_id,
        subsidiary as subsidiary_id,
        currency as currency_id,

        ----------  text
        entityid as customer_number,
        companyname as company_name,

        ----------  timestamps
        datecreated as created_at,
        lastmodifieddate as last_modified_at,
        _loaded_at

    from source

)

select * from renamed
