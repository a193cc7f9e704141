{#-
    One row per first-of-month date between two date expressions (inclusive), as `month_start`.
    dbt's date_spine needs its bounds at compile time; this takes them from the data at run
    time.  Dispatched: another warehouse can implement it with its own series function.
-#}
{% macro month_spine(start_expr, end_expr) -%}
    {{ return(adapter.dispatch('month_spine', 'tieout')(start_expr, end_expr)) }}
{%- endmacro %}

{% macro default__month_spine(start_expr, end_expr) -%}
    select cast(month_start as date) as month_start
    from generate_series(
        cast(date_trunc('month', {{ start_expr }}) as timestamp),
        cast(date_trunc('month', {{ end_expr }}) as timestamp),
        interval 1 month
    ) as series(month_start)
{%- endmacro %}
