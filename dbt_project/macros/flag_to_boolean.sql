{#- NetSuite "T"/"F" flags -> boolean (anything else -> null, caught by not_null tests). -#}
{% macro flag_to_boolean(column) -%}
    case {{ column }} when 'T' then true when 'F' then false end
{%- endmacro %}
