with

source as (

    select * from {{ source('billing', 'credit_notes') }}

),

renamed as (

    select
        ----------  ids
        id as credit_note_id,
        number as credit_note_number,
        invoice as invoice_id,
        customer as customer_id,

        ----------  text
        upper(currency) as currency,
        lower(status) as status,
        lower(type) as credit_note_type,
        lower(reason) as reason,
        memo,

        ----------  numerics (minor units next to DECIMAL major units)
        subtotal as subtotal_minor,
        {{ minor_to_major('subtotal', 'currency') }} as subtotal,
        tax as tax_minor,
        {{ minor_to_major('tax', 'currency') }} as tax,
        total as total_minor,
        {{ minor_to_major('total', 'currency') }} as total,
        refund_amount as refund_amount_minor,
        {{ minor_to_major('refund_amount', 'currency') }} as refund_amount,

        ----------  timestamps
        {{ epoch_to_timestamp('created') }} as created_at,
        {{ epoch_to_timestamp('updated') }} as updated_at,
        _loaded_at

    from source

)

select * from renamed
