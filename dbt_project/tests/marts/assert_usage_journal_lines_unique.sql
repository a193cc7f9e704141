{#- One line per journal scope, product and side (the grain the poster diffs against). -#}
select journal_scope_id, product_id, line_side, count(*) as lines
from {{ ref('fct_usage_journal_lines') }}
group by journal_scope_id, product_id, line_side
having count(*) > 1
