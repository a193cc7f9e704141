with

source as (

    select * from {{ source('billing', 'subscriptions') }}

),

renamed as (

    select
        ----------  ids
        id as subscription_id,
        customer as customer_id,

        ----------  text
        lower(status) as status,
        upper(currency) as currency,
        lower(billing_interval) as billing_interval,

        ----------  booleans
        cancel_at_period_end as is_cancel_at_period_end,

        ----------  timestamps
        {{ epoch_to_timestamp('start_date') }} as started_at,
        {{ epoch_to_timestamp('current_period_start') }} as current_period_start_at,
        {{ epoch_to_timestamp('current_period_end') }} as current_period_end_at,
        {{ epoch_to_timestamp('canceled_at') }} as canceled_at,
        {{ epoch_to_timestamp('ended_at') }} as ended_at,
        {{ epoch_to_timestamp('created') }} as created_at,
        {{ epoch_to_timestamp('updated') }} as updated_at,
        _loaded_at

    from source

)

select * from renamed
