{#-
    Every current reconciliation exception, one row per (rule, natural key), with both
    sides' amounts, the difference in the transaction and the reporting currency, the reason
    and the references that find the records in each system.  `exception_id` is a stable
    hash of rule and natural key, so review state (kept outside dbt) survives every rebuild.
    Items inside the grace period are not here: see fct_in_transit.
-#}
with

rules as (
    select *, cast(null as varchar) as support_ref from {{ ref('int_rules__billing_erp') }}
    union all
    select *, cast(null as varchar) from {{ ref('int_rules__billing_revrec') }}
    union all
    select *, cast(null as varchar) from {{ ref('int_rules__subscriptions_usage') }}
    union all
    select *, cast(null as varchar) from {{ ref('int_rules__ledger') }}
    union all
    select * from {{ ref('int_rules__support') }}
),

converted as (
    select
        rules.*,
        {{ minor_to_major('rules.billing_amount_minor', 'rules.currency') }} as billing_amount,
        {{ minor_to_major('rules.other_amount_minor', 'rules.currency') }} as other_amount,
        {{ minor_to_major('rules.difference_minor', 'rules.currency') }} as difference,
        fx.rate as fx_rate
    from rules
    asof left join {{ ref('int_fx__reporting_rates') }} as fx
        on rules.currency = fx.currency and rules.fx_date >= fx.rate_date
)

select
    cast(substr({{ dbt.hash("rule || '|' || natural_key") }}, 1, 16) as varchar) as exception_id,
    cast(rule as varchar) as rule,
    cast(case rule
        {%- for code, severity in var('rule_severity').items() | sort %}
        when '{{ code }}' then '{{ severity }}'
        {%- endfor %}
    end as varchar) as severity,
    cast(natural_key as varchar) as natural_key,
    cast(entity as varchar) as entity,
    cast(currency as varchar) as currency,
    cast(period as varchar) as period,
    cast(timing_status as varchar) as timing_status,
    cast(billing_amount as decimal(20, 4)) as billing_amount,
    cast(other_system as varchar) as other_system,
    cast(other_amount as decimal(20, 4)) as other_amount,
    cast(difference as decimal(20, 4)) as difference,
    cast('{{ var("reporting_currency") }}' as varchar) as reporting_currency,
    cast(fx_rate as decimal(20, 10)) as fx_rate,
    {{ to_reporting('difference', 'fx_rate') }} as difference_reporting,
    coalesce(abs({{ to_reporting('difference', 'fx_rate') }})
        >= cast('{{ var("materiality") }}' as decimal(20, 4)), false) as is_material,
    cast(reason as varchar) as reason,
    cast(billing_ref as varchar) as billing_ref,
    cast(erp_ref as varchar) as erp_ref,
    cast(revrec_ref as varchar) as revrec_ref,
    cast(support_ref as varchar) as support_ref,
    cast({{ as_of() }} as timestamp with time zone) as as_of
from converted
