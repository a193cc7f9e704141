{#-
    One row per billing invoice id the ERP claims (CustInvc externalid), with how many ERP
    invoices claim it.  Grain is asserted here, before any join to billing: a duplicated
    posting keeps its count, total and the ids of every copy (attributes of the first, for
    reference only), so it can never fan a join out into false matches (DECISIONLOG
    "Precedence").  Tax is the ERP tax lines' credit, as a positive amount.
-#}
with

invoices as (
    select * from {{ ref('int_erp__transactions') }}
    where transaction_type = 'invoice' and external_id is not null
),

claims as (
    select
        external_id,
        count(*) as erp_count,
        sum(total_minor) as erp_total_sum_minor,
        {# the ids in ascending order; list_sort over a list, not an ordered string_agg, #}
        {# which sorts each of a million one-row groups (seconds at 1M invoices)          #}
        array_to_string(list_sort(list(transaction_id)), ',') as erp_transaction_ids,
        min(transaction_id) as first_transaction_id
    from invoices
    group by external_id
),

lines as (
    select
        transaction_id,
        -sum(case when is_tax_line then amount_minor else 0 end) as tax_minor,
        -sum(case when not is_tax_line and not is_main_line then amount_minor else 0 end)
            as revenue_minor
    from {{ ref('int_erp__gl_lines') }}
    where transaction_type = 'invoice'
    group by transaction_id
)

select
    invoices.*,
    coalesce(lines.tax_minor, 0) as tax_minor,
    coalesce(lines.revenue_minor, 0) as revenue_minor,
    claims.erp_total_sum_minor,
    claims.erp_count,
    claims.erp_transaction_ids
from claims
inner join invoices on claims.first_transaction_id = invoices.transaction_id
left join lines on invoices.transaction_id = lines.transaction_id
