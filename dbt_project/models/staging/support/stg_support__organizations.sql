{#-
    Support organizations and their entitlement.  covered_products is normalised (trimmed,
    lower-cased, de-duplicated, sorted) so it compares with billing's products as a set.
-#}
with

source as (

    select * from {{ source('support', 'organizations') }}

),

renamed as (

    select
        ----------  ids
        id as organization_id,
        nullif(trim(external_id), '') as billing_customer_id,

        ----------  text
        name as organization_name,
        lower(support_tier) as support_tier,
        lower(sla_policy) as sla_policy,
        lower(entitlement_status) as entitlement_status,
        (
            select string_agg(distinct lower(trim(product)), ',' order by lower(trim(product)))
            from unnest(string_split(coalesce(covered_products, ''), ',')) as products(product)
            where trim(product) <> ''
        ) as covered_products,

        ----------  dates and timestamps (validity dates are accounting-time-zone dates)
        valid_from as valid_from_date,
        valid_to as valid_to_date,
        created_at,
        updated_at,
        _loaded_at

    from source

)

select * from renamed
