{#-
    Daily rate from each transaction currency into the reporting currency (tieout.toml
    company.reporting_currency): the reference table's direct pair, or 1 for the reporting
    currency itself.  Rules convert at the rate of the transaction's date.
-#}
with

currencies as (select currency from {{ ref('stg_reference__currencies') }}),

days as (select distinct rate_date from {{ ref('stg_reference__fx_rates') }})

select rate_date, from_currency as currency, rate
from {{ ref('stg_reference__fx_rates') }}
where to_currency = '{{ var("reporting_currency") }}'
    and from_currency <> '{{ var("reporting_currency") }}'

union all

select days.rate_date, currencies.currency, cast(1 as decimal(20, 10))
from days
cross join currencies
where currencies.currency = '{{ var("reporting_currency") }}'
