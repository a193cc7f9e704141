{#-
    Integer minor units -> DECIMAL(20, 4) major units, with each currency's own exponent
    (var currency_exponents; JPY 0, the others 2).  Exact: the amount is multiplied by a
    DECIMAL literal 10^-exponent, never divided (DuckDB divides decimals as DOUBLE) and never
    a float.  An unknown currency yields null.  Dispatched so another warehouse can override it.
-#}
{% macro minor_to_major(column, currency_column) -%}
    {{ return(adapter.dispatch('minor_to_major', 'tieout')(column, currency_column)) }}
{%- endmacro %}

{% macro default__minor_to_major(column, currency_column) -%}
    {%- set exponents = var('currency_exponents') -%}
    cast(
        cast({{ column }} as decimal(20, 0)) * case upper({{ currency_column }})
        {%- for code, exponent in exponents.items() | sort %}
            when '{{ code | upper }}' then cast('{{ "1" if exponent == 0 else "0." ~ ("0" * (exponent - 1)) ~ "1" }}' as decimal(20, {{ exponent }}))
        {%- endfor %}
        end
    as decimal(20, 4))
{%- endmacro %}
