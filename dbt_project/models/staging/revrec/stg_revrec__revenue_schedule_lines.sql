with

source as (

    select * from {{ source('revrec', 'revenue_schedule_lines') }}

),

renamed as (

    select
        ----------  ids
        schedule_id,
        line_number,

        ----------  text
        period,
        lower(status) as status,

        ----------  numerics (decimal strings -> DECIMAL)
        cast(amount as decimal(20, 2)) as amount,

        ----------  dates
        cast({{ dbt.concat(['period', "'-01'"]) }} as date) as period_start_date,
        _loaded_at

    from source

)

select * from renamed
