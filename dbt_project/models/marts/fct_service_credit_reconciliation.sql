{#-
    Every service credit promised in support with the billing credit note that paid it (see
    int_support__credit_matches): matched, amount_differs, in_transit (no note yet, inside
    var service_credit_grace_days) or not_billed.  `outstanding` is what the customer was
    promised and has not been credited (the whole credit, or the part a smaller note left),
    also in the reporting currency at the promised date's rate: the close report's
    "credits outstanding".
-#}
with

credits as (select * from {{ ref('int_support__credit_matches') }}),

converted as (

    select
        credits.*,
        case credits.match_status
            when 'matched' then 0
            when 'amount_differs' then credits.difference_minor
            else credits.amount_minor
        end as outstanding_minor,
        fx.rate as fx_rate
    from credits
    asof left join {{ ref('int_fx__reporting_rates') }} as fx
        on credits.currency = fx.currency and credits.promised_date >= fx.rate_date

)

select
    cast(service_credit_id as bigint) as service_credit_id,
    cast(organization_id as bigint) as organization_id,
    cast(customer_id as varchar) as customer_id,
    cast(legal_entity_code as varchar) as legal_entity_code,
    cast(currency as varchar) as currency,
    cast(amount as decimal(20, 4)) as amount,
    cast(reason as varchar) as reason,
    cast(promised_date as date) as promised_date,
    cast(promised_period as varchar) as promised_period,
    cast(referenced_credit_note_id as varchar) as referenced_credit_note_id,
    cast(matched_credit_note_id as varchar) as credit_note_id,
    cast({{ minor_to_major('credit_note_total_minor', 'currency') }} as decimal(20, 4))
        as credit_note_amount,
    cast(case
        when match_status = 'no_credit_note' and is_past_grace then 'not_billed'
        when match_status = 'no_credit_note' then 'in_transit'
        else match_status
    end as varchar) as match_status,
    cast({{ minor_to_major('outstanding_minor', 'currency') }} as decimal(20, 4)) as outstanding,
    {{ to_reporting(minor_to_major('outstanding_minor', 'currency'), 'fx_rate') }}
        as outstanding_reporting,
    cast('{{ var("reporting_currency") }}' as varchar) as reporting_currency,
    cast({{ as_of() }} as timestamp with time zone) as as_of
from converted
