{#-
    Documents on their way downstream: finalized in billing within the grace period and not
    yet in the ERP (invoices, credit notes) or revrec (invoice lines), and service credits
    promised in support within var service_credit_grace_days and not yet credited in billing
    (aged from the start of the promised day).  Listed so a controller
    sees them, but they are not exceptions and are left out of both sides of customer AR.
-#}
select
    'invoice:' || invoice_id as natural_key,
    'invoice_not_in_erp' as kind,
    legal_entity_code as entity,
    currency,
    period,
    {{ minor_to_major('total_minor', 'currency') }} as amount,
    cast(age_hours as decimal(10, 2)) as age_hours,
    'billing invoice ' || invoice_id || ' (' || invoice_number || ')' as billing_ref
from {{ ref('int_invoice_erp_match') }}
where erp_timing_status = 'in_transit' and status <> 'void'

union all

select
    'credit_note:' || credit_note_id,
    'credit_note_not_in_erp',
    legal_entity_code,
    currency,
    period,
    {{ minor_to_major('total_minor', 'currency') }},
    cast(age_hours as decimal(10, 2)),
    'billing credit note ' || credit_note_id
from {{ ref('int_credit_note_erp_match') }}
where erp_timing_status = 'in_transit'

union all

select
    'invoice_line:' || invoice_line_id,
    'invoice_line_not_in_revrec',
    legal_entity_code,
    currency,
    invoice_period,
    {{ minor_to_major('expected_total_minor', 'currency') }},
    cast(age_hours as decimal(10, 2)),
    'billing invoice line ' || invoice_line_id || ' on invoice ' || invoice_id
from {{ ref('int_invoice_line_schedules') }}
where schedule_count = 0 and age_hours <= {{ var('grace_hours') }}

union all

select
    'service_credit:' || cast(service_credit_id as varchar),
    'service_credit_not_in_billing',
    legal_entity_code,
    currency,
    promised_period,
    {{ minor_to_major('amount_minor', 'currency') }},
    cast({{ dbt.datediff('cast(promised_date as timestamp)',
                         "timezone('UTC', " ~ as_of() ~ ")", 'minute') }} / 60.0
         as decimal(10, 2)),
    'support service credit ' || cast(service_credit_id as varchar) || ' for billing customer '
        || coalesce(customer_id, '?')
from {{ ref('int_support__credit_matches') }}
where match_status = 'no_credit_note' and not is_past_grace
