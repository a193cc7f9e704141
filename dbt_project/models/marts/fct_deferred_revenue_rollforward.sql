{#-
    Deferred-revenue roll-forward per legal entity, currency and accounting period: revrec's
    opening balance, bookings, recognised revenue and closing balance, beside the ERP's
    deferred-revenue GL movement and balance.  Breaks are judged on the period's movement
    (DECISIONLOG "Roll-forward"), so one error shows in one period, not in every later one.
-#}
with

movements as (select * from {{ ref('int_deferred_revenue_movements') }}),

balances as (
    select
        *,
        sum(revrec_movement_minor) over (
            partition by legal_entity_code, currency order by period
            rows between unbounded preceding and current row) as revrec_closing_minor,
        sum(erp_movement_minor) over (
            partition by legal_entity_code, currency order by period
            rows between unbounded preceding and current row) as erp_closing_minor
    from movements
)

select
    legal_entity_code,
    currency,
    period,
    is_closed,
    {{ minor_to_major('revrec_closing_minor - revrec_movement_minor', 'currency') }}
        as revrec_opening_balance,
    {{ minor_to_major('revrec_bookings_minor', 'currency') }} as revrec_bookings,
    {{ minor_to_major('revrec_recognised_minor', 'currency') }} as revrec_recognised,
    {{ minor_to_major('revrec_closing_minor', 'currency') }} as revrec_closing_balance,
    {{ minor_to_major('erp_closing_minor - erp_movement_minor', 'currency') }}
        as erp_opening_balance,
    {{ minor_to_major('erp_movement_minor', 'currency') }} as erp_movement,
    {{ minor_to_major('erp_closing_minor', 'currency') }} as erp_closing_balance,
    {{ minor_to_major('difference_minor', 'currency') }} as movement_difference,
    is_closed and {{ is_aggregate_break('difference_minor', 'currency') }} as is_break
from balances
