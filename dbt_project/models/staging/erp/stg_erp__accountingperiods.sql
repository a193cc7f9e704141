with

source as (

    select * from {{ source('erp', 'accountingperiod') }}

),

renamed as (

    select
        ----------  ids
        id as accounting_period_id,

        ----------  text
        periodname as period_name,

        ----------  booleans
        {{ flag_to_boolean('closed') }} as is_closed,
        {{ flag_to_boolean('isquarter') }} as is_quarter,
        {{ flag_to_boolean('isyear') }} as is_year,
        {{ flag_to_boolean('isadjust') }} as is_adjustment,

        ----------  dates and timestamps
        startdate as start_date,
        enddate as end_date,
        closedondate as closed_at,
        _loaded_at

    from source

)

select * from renamed
