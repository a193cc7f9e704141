{#-
    One row per billing invoice id the ERP claims (CustInvc externalid), with how many ERP
    invoices claim it.  Grain is asserted here, before any join to billing: a duplicated
    posting keeps its count and the ids of every copy (attributes of the first, for reference
    only), so it can never fan a join out into false matches (DECISIONLOG "Precedence").  Tax is the ERP tax lines' credit, as a positive amount.
-#}
with

invoices as (
    select * from {{ ref('int_erp__transactions') }}
    where transaction_type = 'invoice' and external_id is not null
),

lines as (
    select
        transaction_id,
        -sum(case when is_tax_line then amount_minor else 0 end) as tax_minor,
        -sum(case when not is_tax_line and not is_main_line then amount_minor else 0 end)
            as revenue_minor
    from {{ ref('int_erp__gl_lines') }}
    group by transaction_id
),

counted as (
    select
        invoices.*,
        coalesce(lines.tax_minor, 0) as tax_minor,
        coalesce(lines.revenue_minor, 0) as revenue_minor,
        sum(invoices.total_minor) over (partition by invoices.external_id) as erp_total_sum_minor,
        count(*) over (partition by invoices.external_id) as erp_count,
        string_agg(cast(invoices.transaction_id as varchar), ',')
            over (partition by invoices.external_id) as erp_transaction_ids
    from invoices
    left join lines on invoices.transaction_id = lines.transaction_id
)

select * exclude (rn) from (
    select *, row_number() over (partition by external_id order by transaction_id) as rn
    from counted
)
where rn = 1
