{#-
    Service credits promised in support, with the amount in minor units of its currency
    (exact: the decimal string times the currency's exponent) next to the major-unit DECIMAL.
-#}
with

source as (

    select * from {{ source('support', 'service_credits') }}

),

renamed as (

    select
        ----------  ids
        id as service_credit_id,
        organization_id,
        nullif(trim(credit_note_id), '') as credit_note_id,

        ----------  text
        upper(currency) as currency,
        reason,
        lower(status) as status,

        ----------  numerics (decimal strings -> DECIMAL and minor units)
        cast(amount as decimal(20, 4)) as amount,
        {{ major_to_minor('amount', 'currency') }} as amount_minor,

        ----------  dates and timestamps
        promised_date,
        created_at,
        updated_at,
        _loaded_at

    from source

)

select * from renamed
