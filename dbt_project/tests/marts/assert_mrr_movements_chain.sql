{#-
    Each customer's MRR rows chain month to month in the customer's currency: this month's
    mrr_previous is last month's mrr_current (0 without a row), a month with MRR is followed
    by a row next month unless it is the last month reported, the change is current − previous,
    the movement type agrees with the amounts, and only a customer's first row is new.

    Last month's row comes from one full join of the rows with the rows of the month before,
    not from a window over customers: a row without a match is either a month without last
    month's row (its mrr_previous must be 0) or a month without a row the month after (it must
    have no MRR, unless it is the last month reported).  Each failing row is listed once, by
    customer and month, with the checks it fails.
-#}
with

movements as (

    select customer_id, month, movement_type, mrr_previous, mrr_current, mrr_change, arr_current
    from {{ ref('fct_mrr_movements') }}

),

last_month as (

    select max(month) as month from movements

),

first_months as (

    select customer_id, min(month) as first_month
    from movements
    group by customer_id

),

chained as (

    select
        this_month.*,
        coalesce(this_month.is_row, false) as has_row,
        prior.customer_id as prior_customer_id,
        prior.month as prior_month,
        prior.mrr_current as prior_mrr_current
    from (select *, true as is_row from movements) as this_month
    full join movements as prior
        on prior.customer_id = this_month.customer_id
        and prior.month = cast({{ dbt.dateadd('month', -1, 'this_month.month') }} as date)

),

checks as (

    select
        case when has_row then chained.customer_id else prior_customer_id end as customer_id,
        case when has_row then chained.month else prior_month end as month,
        has_row and mrr_previous <> coalesce(prior_mrr_current, 0) as breaks_chain,
        not has_row and prior_mrr_current <> 0 and prior_month < last_month.month
            as lacks_next_row,
        mrr_change <> mrr_current - mrr_previous as has_wrong_change,
        arr_current <> 12 * mrr_current as has_wrong_arr,
        not (
            (movement_type in ('new', 'reactivation')
                and mrr_previous = 0 and mrr_current <> 0)
            or (movement_type = 'churn'
                and mrr_previous <> 0 and mrr_current = 0)
            or (movement_type = 'expansion'
                and mrr_previous <> 0 and mrr_current > mrr_previous)
            or (movement_type = 'contraction' and mrr_current <> 0
                and mrr_current < mrr_previous)
            or (movement_type = 'unchanged'
                and mrr_previous <> 0 and mrr_current = mrr_previous)
        ) as has_wrong_type
    from chained
    cross join last_month

),

failed_checks as (

    select
        customer_id,
        month,
        concat_ws(', ',
            case when breaks_chain then 'mrr_previous is not last month''s mrr_current' end,
            case when lacks_next_row then 'no row after a month with MRR' end,
            case when has_wrong_change then 'mrr_change' end,
            case when has_wrong_arr then 'arr_current' end,
            case when has_wrong_type then 'movement_type does not fit the amounts' end
        ) as failed_check
    from checks
    where breaks_chain or lacks_next_row or has_wrong_change or has_wrong_arr or has_wrong_type

    union all

    select
        movements.customer_id,
        movements.month,
        'new is not exactly the first row' as failed_check
    from movements
    left join first_months
        on movements.customer_id is not distinct from first_months.customer_id
    where (movements.movement_type = 'new') <> (movements.month = first_months.first_month)

)

select
    customer_id,
    month,
    string_agg(failed_check, ', ' order by failed_check) as failed_checks
from failed_checks
group by customer_id, month
