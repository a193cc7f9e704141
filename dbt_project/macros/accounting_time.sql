{#-
    Accounting time: periods are calendar months in var('accounting_timezone') (tieout.toml),
    never in UTC, so an invoice finalized at 23:30 on the 31st in Los Angeles stays in that
    month.  Dispatched so another warehouse can supply its own time-zone conversion.
-#}
{% macro to_accounting_local(ts) -%}
    {{ return(adapter.dispatch('to_accounting_local', 'tieout')(ts)) }}
{%- endmacro %}

{% macro default__to_accounting_local(ts) -%}
    timezone('{{ var("accounting_timezone") }}', {{ ts }})
{%- endmacro %}

{#- Calendar date of a UTC timestamp in the accounting time zone. -#}
{% macro accounting_date(ts) -%}
    cast({{ to_accounting_local(ts) }} as date)
{%- endmacro %}

{#- Accounting period 'YYYY-MM' of a UTC timestamp. -#}
{% macro accounting_period(ts) -%}
    strftime({{ to_accounting_local(ts) }}, '%Y-%m')
{%- endmacro %}

{#- Period 'YYYY-MM' of a date (already a calendar date, no time-zone step). -#}
{% macro period_of_date(d) -%}
    strftime(cast({{ d }} as date), '%Y-%m')
{%- endmacro %}

{#- The snapshot moment timing rules measure against (var as_of; the wall clock if unset). -#}
{% macro as_of() -%}
    {%- if var('as_of', none) -%}
        cast('{{ var("as_of") }}' as timestamp with time zone)
    {%- else -%}
        current_timestamp
    {%- endif -%}
{%- endmacro %}

{#- Whole hours between a timestamp and the snapshot (for timing states and ageing). -#}
{% macro age_hours(ts) -%}
    {{ dbt.datediff(ts, as_of(), 'second') }} / 3600.0
{%- endmacro %}
