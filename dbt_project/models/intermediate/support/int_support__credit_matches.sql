{#-
    Each service credit promised in support against the billing credit note that paid it.

    A credit naming a credit note is matched to it when the note exists, is not void and
    belongs to the same customer and currency; its amount must then agree within the
    document tolerance.  A credit naming none is paired one-to-one with an unnamed credit note
    of the same customer, currency and total (earliest with earliest), so two equal credits
    never claim one note.  A credit with no note is in transit for var
    service_credit_grace_days after its promised date, then an exception; a note of another
    amount is an exception at once (the credit was billed, wrongly).  The amount compared is
    the credit note's total, what the customer's balance is reduced by.
-#}
with

as_of as (select {{ accounting_date(as_of()) }} as as_of_date),

credits as (

    select
        credits.*,
        organizations.billing_customer_id as customer_id
    from {{ ref('stg_support__service_credits') }} as credits
    left join {{ ref('stg_support__organizations') }} as organizations
        on credits.organization_id = organizations.organization_id

),

notes as (

    select * from {{ ref('stg_billing__credit_notes') }} where status <> 'void'

),

by_reference as (

    select
        credits.service_credit_id,
        notes.credit_note_id,
        notes.total_minor
    from credits
    inner join notes
        on credits.credit_note_id = notes.credit_note_id
        and credits.customer_id = notes.customer_id
        and credits.currency = notes.currency

),

unnamed_notes as (

    select
        notes.*,
        row_number() over (
            partition by notes.customer_id, notes.currency, notes.total_minor
            order by notes.created_at, notes.credit_note_id
        ) as pair_rank
    from notes
    where not exists (
        select 1 from credits where credits.credit_note_id = notes.credit_note_id
    )

),

unnamed_credits as (

    select
        credits.*,
        row_number() over (
            partition by credits.customer_id, credits.currency, credits.amount_minor
            order by credits.promised_date, credits.service_credit_id
        ) as pair_rank
    from credits
    where credits.credit_note_id is null

),

by_amount as (

    select
        unnamed_credits.service_credit_id,
        unnamed_notes.credit_note_id,
        unnamed_notes.total_minor
    from unnamed_credits
    inner join unnamed_notes
        on unnamed_credits.customer_id = unnamed_notes.customer_id
        and unnamed_credits.currency = unnamed_notes.currency
        and unnamed_credits.amount_minor = unnamed_notes.total_minor
        and unnamed_credits.pair_rank = unnamed_notes.pair_rank

),

matched as (

    select * from by_reference
    union all
    select * from by_amount

),

customers as (select * from {{ ref('stg_billing__customers') }})

select
    credits.service_credit_id,
    credits.organization_id,
    credits.customer_id,
    customers.legal_entity_code,
    credits.currency,
    credits.amount,
    credits.amount_minor,
    credits.reason,
    credits.status,
    credits.promised_date,
    strftime(credits.promised_date, '%Y-%m') as promised_period,
    credits.credit_note_id as referenced_credit_note_id,
    matched.credit_note_id as matched_credit_note_id,
    matched.total_minor as credit_note_total_minor,
    credits.amount_minor - coalesce(matched.total_minor, 0) as difference_minor,
    case
        when matched.credit_note_id is null then 'no_credit_note'
        when {{ is_document_break('credits.amount_minor - matched.total_minor',
                                  'matched.total_minor', 'credits.currency') }}
            then 'amount_differs'
        else 'matched'
    end as match_status,
    case
        when matched.credit_note_id is null then {{ dbt.datediff('credits.promised_date',
                                                                 'as_of.as_of_date', 'day') }}
                > {{ var('service_credit_grace_days') }}
        else false
    end as is_past_grace
from credits
cross join as_of
left join matched on credits.service_credit_id = matched.service_credit_id
left join customers on credits.customer_id = customers.customer_id
