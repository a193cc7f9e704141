{#- Epoch seconds (billing's timestamps) -> UTC timestamp with time zone. -#}
{% macro epoch_to_timestamp(column) -%}
    {{ return(adapter.dispatch('epoch_to_timestamp', 'tieout')(column)) }}
{%- endmacro %}

{% macro default__epoch_to_timestamp(column) -%}
    to_timestamp({{ column }})
{%- endmacro %}
