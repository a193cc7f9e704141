{#-
    Micro-batch windows for usage journals (DESIGN §7): fixed-length UTC windows of
    var('journal_window_minutes') minutes (tieout.toml journal.window_minutes), aligned to the
    Unix epoch so every run and every backfill cuts the same windows.  Integer arithmetic on
    epoch seconds: no time-zone call per event.
-#}
{% macro usage_window_start(ts) -%}
    {%- set seconds = var('journal_window_minutes') * 60 -%}
    to_timestamp(cast(epoch_us({{ ts }}) // 1000000 // {{ seconds }} * {{ seconds }} as bigint))
{%- endmacro %}

{% macro usage_window_end(window_start) -%}
    {{ window_start }} + to_minutes({{ var('journal_window_minutes') }})
{%- endmacro %}
