{#-
    Each customer's MRR rows chain month to month in the customer's currency: this month's
    mrr_previous is last month's mrr_current (0 without a row), a month with MRR is followed
    by a row next month unless it is the last month reported, the change is current − previous,
    the movement type agrees with the amounts, and only a customer's first row is new.
-#}
with

movements as (

    select * from {{ ref('fct_mrr_movements') }}

),

last_month as (

    select max(month) as month from movements

),

chained as (

    select
        movements.*,
        coalesce(prior.mrr_current, 0) as prior_mrr_current,
        next_row.customer_id is not null as has_next_row,
        min(movements.month) over (partition by movements.customer_id) as first_month
    from movements
    left join movements as prior
        on prior.customer_id = movements.customer_id
        and prior.month = cast({{ dbt.dateadd('month', -1, 'movements.month') }} as date)
    left join movements as next_row
        on next_row.customer_id = movements.customer_id
        and next_row.month = cast({{ dbt.dateadd('month', 1, 'movements.month') }} as date)

)

select chained.*
from chained
cross join last_month
where chained.mrr_previous <> chained.prior_mrr_current
    or chained.mrr_change <> chained.mrr_current - chained.mrr_previous
    or chained.arr_current <> 12 * chained.mrr_current
    or (chained.movement_type = 'new') <> (chained.month = chained.first_month)
    or (chained.mrr_current <> 0 and not chained.has_next_row
        and chained.month < last_month.month)
    or not (
        (chained.movement_type in ('new', 'reactivation')
            and chained.mrr_previous = 0 and chained.mrr_current <> 0)
        or (chained.movement_type = 'churn'
            and chained.mrr_previous <> 0 and chained.mrr_current = 0)
        or (chained.movement_type = 'expansion'
            and chained.mrr_previous <> 0 and chained.mrr_current > chained.mrr_previous)
        or (chained.movement_type = 'contraction' and chained.mrr_current <> 0
            and chained.mrr_current < chained.mrr_previous)
        or (chained.movement_type = 'unchanged'
            and chained.mrr_previous <> 0 and chained.mrr_current = chained.mrr_previous)
    )
