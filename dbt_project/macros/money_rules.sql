{#-
    Money helpers for the rules.  Rules compare integer minor units (exact, exponent-aware);
    ERP decimals are brought to minor units by an exact DECIMAL multiply.
-#}
{% macro major_to_minor(column, currency_column) -%}
    {{ return(adapter.dispatch('major_to_minor', 'tieout')(column, currency_column)) }}
{%- endmacro %}

{% macro default__major_to_minor(column, currency_column) -%}
    {%- set exponents = var('currency_exponents') -%}
    cast(cast({{ column }} as decimal(20, 4)) * case upper({{ currency_column }})
        {%- for code, exponent in exponents.items() | sort %}
            when '{{ code | upper }}' then {{ 10 ** exponent }}
        {%- endfor %}
        end as bigint)
{%- endmacro %}

{#- The currency's absolute tolerance in minor units (var absolute_tolerance, major units). -#}
{% macro absolute_tolerance_minor(currency_column) -%}
    {%- set tolerances = var('absolute_tolerance') -%}
    {%- set exponents = var('currency_exponents') -%}
    case upper({{ currency_column }})
    {%- for code, tol in tolerances.items() | sort %}
        when '{{ code | upper }}' then cast(cast('{{ tol }}' as decimal(20, 4)) * {{ 10 ** exponents[code | upper] }} as decimal(20, 4))
    {%- endfor %}
        else cast(1 as decimal(20, 4))
    end
{%- endmacro %}

{#-
    A document-level break: |difference| beyond the currency's absolute tolerance AND beyond
    the relative tolerance of the billing amount (DECISIONLOG "Tolerance").  Exact decimals.
-#}
{% macro is_document_break(difference_minor, base_minor, currency_column) -%}
    (abs({{ difference_minor }}) > {{ absolute_tolerance_minor(currency_column) }}
     and cast(abs({{ difference_minor }}) as decimal(38, 8))
         > cast('{{ var("relative_tolerance") }}' as decimal(38, 8))
           * cast(abs({{ base_minor }}) as decimal(38, 8)))
{%- endmacro %}

{#- An aggregate break (customer AR, roll-forward, usage revenue): absolute tolerance only. -#}
{% macro is_aggregate_break(difference_minor, currency_column) -%}
    (abs({{ difference_minor }}) > {{ absolute_tolerance_minor(currency_column) }})
{%- endmacro %}

{#- Integer division rounded half away from zero (b > 0), as tieout.money.round_half_up_div. -#}
{% macro half_up_div(a, b) -%}
    (sign({{ a }}) * ((abs({{ a }}) * 2 + ({{ b }})) // (2 * ({{ b }}))))
{%- endmacro %}

{#-
    An amount in the reporting currency: times the rate into it, rounded half away from zero
    to the reporting currency's own exponent (DECISIONLOG "FX"), as DECIMAL(20, 4).  One
    rounding rule for every mart that shows reporting-currency amounts.
-#}
{% macro to_reporting(amount, rate) -%}
    cast(round({{ amount }} * {{ rate }}, {{ var('currency_exponents')[var('reporting_currency')] }}) as decimal(20, 4))
{%- endmacro %}

{#- Minor units as readable money for reasons, e.g. 'EUR 27.37', 'JPY 541'.  Each branch is
    cast to text on its own: a CASE over DECIMALs of different scales would give JPY two
    decimals it does not have. -#}
{% macro money_text(minor, currency_column) -%}
    {%- set exponents = var('currency_exponents') -%}
    (upper({{ currency_column }}) || ' ' || case upper({{ currency_column }})
        {%- for code, exponent in exponents.items() | sort %}
            when '{{ code | upper }}' then cast(cast({{ minor }} as decimal(20, 0)) * cast('{{ "1" if exponent == 0 else "0." ~ ("0" * (exponent - 1)) ~ "1" }}' as decimal(20, {{ exponent }})) as varchar)
        {%- endfor %}
        end)
{%- endmacro %}
