with

source as (

    select * from {{ source('revrec', 'revenue_schedules') }}

),

renamed as (

    select
        ----------  ids
        id as schedule_id,
        invoice_id,
        invoice_line_id,
        customer_id,
        product_id,
        upper(legal_entity) as legal_entity_code,

        ----------  text
        upper(currency) as currency,
        lower(recognition_method) as recognition_method,
        lower(status) as status,

        ----------  numerics (decimal strings -> DECIMAL)
        cast(total_amount as decimal(20, 2)) as total_amount,

        ----------  dates and timestamps
        document_date,
        service_start as service_start_date,
        service_end as service_end_date,
        created_at,
        updated_at,
        _loaded_at

    from source

)

select * from renamed
