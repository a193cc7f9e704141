with

source as (

    select * from {{ source('billing', 'invoices') }}

),

renamed as (

    select
        ----------  ids
        id as invoice_id,
        number as invoice_number,
        customer as customer_id,
        subscription as subscription_id,
        charge as charge_id,

        ----------  text
        lower(status) as status,
        upper(currency) as currency,
        lower(billing_reason) as billing_reason,

        ----------  numerics (minor units next to DECIMAL major units)
        subtotal as subtotal_minor,
        {{ minor_to_major('subtotal', 'currency') }} as subtotal,
        total_discount as total_discount_minor,
        {{ minor_to_major('total_discount', 'currency') }} as total_discount,
        tax as tax_minor,
        {{ minor_to_major('tax', 'currency') }} as tax,
        total as total_minor,
        {{ minor_to_major('total', 'currency') }} as total,
        amount_due as amount_due_minor,
        {{ minor_to_major('amount_due', 'currency') }} as amount_due,
        amount_paid as amount_paid_minor,
        {{ minor_to_major('amount_paid', 'currency') }} as amount_paid,
        amount_remaining as amount_remaining_minor,
        {{ minor_to_major('amount_remaining', 'currency') }} as amount_remaining,
        attempt_count,

        ----------  timestamps
        {{ epoch_to_timestamp('period_start') }} as period_start_at,
        {{ epoch_to_timestamp('period_end') }} as period_end_at,
        {{ epoch_to_timestamp('created') }} as created_at,
        {{ epoch_to_timestamp('finalized_at') }} as finalized_at,
        {{ epoch_to_timestamp('paid_at') }} as paid_at,
        {{ epoch_to_timestamp('voided_at') }} as voided_at,
        {{ epoch_to_timestamp('due_date') }} as due_at,
        {{ epoch_to_timestamp('updated') }} as updated_at,
        _loaded_at

    from source

)

select * from renamed
