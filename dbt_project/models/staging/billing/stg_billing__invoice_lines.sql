with

source as (

    select * from {{ source('billing', 'invoice_lines') }}

),

renamed as (

    select
        ----------  ids
        id as invoice_line_id,
        invoice as invoice_id,
        subscription_item as subscription_item_id,
        price as price_id,
        product as product_id,

        ----------  text
        description,
        lower(type) as line_type,
        upper(currency) as currency,

        ----------  booleans
        proration as is_proration,

        ----------  numerics (minor units next to DECIMAL major units)
        line_number,
        quantity,
        amount as amount_minor,
        {{ minor_to_major('amount', 'currency') }} as amount,
        discount_amount as discount_amount_minor,
        {{ minor_to_major('discount_amount', 'currency') }} as discount_amount,
        tax_amount as tax_amount_minor,
        {{ minor_to_major('tax_amount', 'currency') }} as tax_amount,

        ----------  timestamps
        {{ epoch_to_timestamp('period_start') }} as period_start_at,
        {{ epoch_to_timestamp('period_end') }} as period_end_at,
        _loaded_at

    from source

)

select * from renamed
