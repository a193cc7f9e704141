{#-
    Open receivables per customer, legal entity and currency on an as-of date (var
    ar_as_of_date; default the run's as-of date in the accounting time zone), aged by days
    past due into current / 1-30 / 31-60 / 61-90 / 90+, from the ERP's open balances, with the
    billing platform's view beside them and the difference (ERP minus billing).

    ERP: today's stated remaining balance of each invoice rolled back to the as-of date: the
    payments and credit memos applied to it after that date are added back, refunds of those
    credits taken off again, and invoices dated after it are left out, so on the run's own
    date the figure is the ERP's stated balance and on a past date an invoice paid since
    counts as open.  Payments and credits applied to nothing are the customer's unapplied
    balance (bucket "unapplied").  A voided ERP invoice counts as zero on every date:
    NetSuite zeroes a voided document's amounts and keeps no void date, so what it was owed
    before the void is not in the ERP; billing shows it open until its void date, and that
    is the difference an invoice voided after the as-of date leaves.
    Billing: invoices finalized by the as-of date, neither voided nor paid by then, at their
    total less the pre-payment credit notes issued by then.  Invoices still in transit to the
    ERP are left out of the billing side, as in fct_ar_reconciliation.
    Each side ages by its own due date.  Amounts are converted to the reporting currency at
    the as-of date's rate.
-#}
{%- set buckets = [('current', 0), ('1-30', 1), ('31-60', 2), ('61-90', 3), ('90+', 4),
                   ('unapplied', 5)] -%}
with

as_of as (

    select
        {%- if var('ar_as_of_date', none) %}
        cast('{{ var("ar_as_of_date") }}' as date) as as_of_date
        {%- else %}
        {{ accounting_date(as_of()) }} as as_of_date
        {%- endif %}

),

erp as (select * from {{ ref('int_erp__transactions') }}),

applications_after as (

    {# what moved each invoice's balance after the as-of date (added back to roll back) #}
    select
        coalesce(refunds_of.applied_to_transaction_id, applied.applied_to_transaction_id)
            as invoice_transaction_id,
        sum(case when applied.transaction_type = 'refund' then -applied.total_minor
            else applied.total_minor end) as moved_minor
    from erp as applied
    cross join as_of
    left join erp as refunds_of
        on applied.transaction_type = 'refund'
        and applied.applied_to_transaction_id = refunds_of.transaction_id
    where applied.transaction_type in ('payment', 'credit_memo', 'refund')
        and applied.applied_to_transaction_id is not null
        and applied.status <> 'voided'
        and applied.transaction_date > as_of.as_of_date
    group by 1

),

erp_open as (

    select
        coalesce(erp.billing_customer_id, 'erp:' || cast(erp.erp_customer_id as varchar))
            as customer_id,
        erp.legal_entity_code,
        erp.currency,
        erp.due_date,
        case
            when erp.transaction_type = 'invoice' and erp.status = 'voided' then 0
            when erp.transaction_type = 'invoice'
                then erp.remaining_minor + coalesce(applications_after.moved_minor, 0)
            else -erp.remaining_minor
        end as open_minor,
        erp.transaction_type = 'invoice' as is_invoice
    from erp
    cross join as_of
    left join applications_after on erp.transaction_id = applications_after.invoice_transaction_id
    where erp.transaction_date <= as_of.as_of_date
        and (erp.transaction_type = 'invoice'
             or (erp.transaction_type in ('payment', 'credit_memo')
                 and erp.applied_to_transaction_id is null and erp.status <> 'voided'))

),

credits_by as (

    select credit_notes.invoice_id, sum(credit_notes.total_minor) as credited_minor
    from {{ ref('stg_billing__credit_notes') }} as credit_notes
    cross join as_of
    where credit_notes.credit_note_type = 'pre_payment'
        and credit_notes.status <> 'void'
        and {{ accounting_date('credit_notes.created_at') }} <= as_of.as_of_date
    group by credit_notes.invoice_id

),

billing_open as (

    select
        invoices.customer_id,
        invoices.legal_entity_code,
        invoices.currency,
        {{ accounting_date('staged.due_at') }} as due_date,
        invoices.total_minor - coalesce(credits_by.credited_minor, 0) as open_minor
    from {{ ref('int_invoice_erp_match') }} as invoices
    inner join {{ ref('stg_billing__invoices') }} as staged
        on invoices.invoice_id = staged.invoice_id
    cross join as_of
    left join credits_by on invoices.invoice_id = credits_by.invoice_id
    where invoices.erp_timing_status <> 'in_transit'
        and invoices.document_date <= as_of.as_of_date
        and (staged.voided_at is null or {{ accounting_date('staged.voided_at') }} > as_of.as_of_date)
        and (staged.paid_at is null or {{ accounting_date('staged.paid_at') }} > as_of.as_of_date)

),

sides as (

    select 'erp' as side, customer_id, legal_entity_code, currency, open_minor,
        case when is_invoice then due_date end as due_date, is_invoice
    from erp_open
    where open_minor <> 0
    union all
    select 'billing', customer_id, legal_entity_code, currency, open_minor, due_date, true
    from billing_open
    where open_minor <> 0

),

bucketed as (

    select
        sides.*,
        case
            when not sides.is_invoice then 'unapplied'
            when sides.due_date is null or sides.due_date >= as_of.as_of_date then 'current'
            when {{ dbt.datediff('sides.due_date', 'as_of.as_of_date', 'day') }} <= 30 then '1-30'
            when {{ dbt.datediff('sides.due_date', 'as_of.as_of_date', 'day') }} <= 60 then '31-60'
            when {{ dbt.datediff('sides.due_date', 'as_of.as_of_date', 'day') }} <= 90 then '61-90'
            else '90+'
        end as bucket
    from sides
    cross join as_of

),

aggregated as (

    select
        customer_id,
        legal_entity_code,
        currency,
        bucket,
        sum(case when side = 'erp' then open_minor else 0 end) as erp_open_minor,
        sum(case when side = 'billing' then open_minor else 0 end) as billing_open_minor,
        count(case when side = 'erp' then 1 end) as erp_documents,
        count(case when side = 'billing' then 1 end) as billing_documents
    from bucketed
    group by customer_id, legal_entity_code, currency, bucket

),

converted as (

    select
        aggregated.*,
        as_of.as_of_date,
        {{ minor_to_major('aggregated.erp_open_minor', 'aggregated.currency') }} as erp_open,
        {{ minor_to_major('aggregated.billing_open_minor', 'aggregated.currency') }}
            as billing_open,
        {{ minor_to_major('aggregated.erp_open_minor - aggregated.billing_open_minor',
                          'aggregated.currency') }} as difference,
        fx.rate as fx_rate
    from aggregated
    cross join as_of
    asof left join {{ ref('int_fx__reporting_rates') }} as fx
        on aggregated.currency = fx.currency and as_of.as_of_date >= fx.rate_date

)

select
    cast(as_of_date as date) as as_of_date,
    cast(customer_id as varchar) as customer_id,
    cast(legal_entity_code as varchar) as legal_entity_code,
    cast(currency as varchar) as currency,
    cast(bucket as varchar) as bucket,
    cast(case bucket
        {%- for name, order in buckets %}
        when '{{ name }}' then {{ order }}
        {%- endfor %}
    end as integer) as bucket_order,
    cast(erp_open as decimal(20, 4)) as erp_open,
    cast(billing_open as decimal(20, 4)) as billing_open,
    cast(difference as decimal(20, 4)) as difference,
    cast(erp_documents as bigint) as erp_documents,
    cast(billing_documents as bigint) as billing_documents,
    cast('{{ var("reporting_currency") }}' as varchar) as reporting_currency,
    cast(fx_rate as decimal(20, 10)) as fx_rate,
    {{ to_reporting('erp_open', 'fx_rate') }}
        as erp_open_reporting,
    {{ to_reporting('billing_open', 'fx_rate') }}
        as billing_open_reporting,
    {{ to_reporting('difference', 'fx_rate') }}
        as difference_reporting
from converted
