{#- Credit note lines carry no currency of their own: it is looked up on the credit note. -#}
with

source as (

    select * from {{ source('billing', 'credit_note_lines') }}

),

credit_notes as (

    select id, currency from {{ source('billing', 'credit_notes') }}

),

renamed as (

    select
        ----------  ids
        source.id as credit_note_line_id,
        source.credit_note as credit_note_id,
        source.invoice_line as invoice_line_id,

        ----------  text
        upper(credit_notes.currency) as currency,

        ----------  numerics (minor units next to DECIMAL major units)
        source.amount as amount_minor,
        {{ minor_to_major('source.amount', 'credit_notes.currency') }} as amount,
        source.tax_amount as tax_amount_minor,
        {{ minor_to_major('source.tax_amount', 'credit_notes.currency') }} as tax_amount,

        ----------  timestamps
        source._loaded_at

    from source
    left join credit_notes
        on source.credit_note = credit_notes.id

)

select * from renamed
