"""Planning: turn the usage journal as it should stand into new batch versions in the ledger.

The ledger is append-only. For every closed window in scope, the desired lines
(``marts.fct_usage_journal_lines``) are compared with the sum of every version the ledger
already holds for that scope (whatever their status: a pending or dead-lettered version will
still be posted, or replayed, exactly once). A difference becomes one new version carrying
only the difference - the first version of a scope is the original entry, later ones are
adjustments for late usage. Running the plan twice adds nothing; nothing posted is ever
changed. It is set-based SQL: the cost does not grow with the number of events beyond the
one aggregation the mart does.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from tieout.config import TieoutConfig
from tieout.errors import TieoutError
from tieout.money import CURRENCY_EXPONENTS, to_major

LINES_VIEW = "marts.fct_usage_journal_lines"


@dataclass(frozen=True)
class Scope:
    """Which windows a posting run considers: [start, end) in UTC, closed by ``now``."""

    start: dt.datetime
    end: dt.datetime
    now: dt.datetime


@dataclass(frozen=True)
class PlanResult:
    """What a plan added to the ledger."""

    originals: int
    adjustments: int

    @property
    def created(self) -> int:
        return self.originals + self.adjustments


def _has_view(con: duckdb.DuckDBPyConnection) -> bool:
    schema, name = LINES_VIEW.split(".")
    return bool(con.execute(
        "select count(*) from duckdb_views() where schema_name = ? and view_name = ?"
        " and database_name = current_database()", [schema, name]).fetchall()[0][0])


def _desired_sql(cfg: TieoutConfig) -> str:
    post_from = cfg.journal.post_from
    since = f"and accounting_date >= date '{post_from.isoformat()}'" if post_from else ""
    return f"""
        select journal_scope_id as batch_id, window_start_at, window_end_at, accounting_date,
               accounting_period, legal_entity_code, currency, account_number, product_id,
               case line_side when 'debit' then amount_minor else -amount_minor end
                   as amount_minor,
               quantity, billable_quantity, event_count
        from {LINES_VIEW}
        where window_start_at >= $start and window_start_at < $end
          and window_end_at + to_minutes({int(cfg.journal.close_after_minutes)}) <= $now
          {since}
    """


def plan_batches(con: duckdb.DuckDBPyConnection, cfg: TieoutConfig, scope: Scope) -> PlanResult:
    """Add a pending version for every scope whose ledger total differs from the desired one.

    Runs in one transaction: either every new version (header and lines) is in the ledger or
    none is.
    """
    if not _has_view(con):
        raise TieoutError(f"{LINES_VIEW} does not exist in {cfg.warehouse}: build the dbt "
                          "project first (tieout run --only transform)")
    params = {"start": scope.start, "end": scope.end, "now": scope.now}
    con.execute("begin transaction")
    try:
        con.execute(f"""
            create or replace temp table journal_plan as
            with desired as ({_desired_sql(cfg)}),
            held as (
                select lines.batch_id, lines.account_number, lines.product_id,
                       sum(lines.amount_minor) as amount_minor, sum(lines.quantity) as quantity,
                       sum(lines.billable_quantity) as billable_quantity,
                       sum(lines.event_count) as event_count
                from ops.journal_batch_lines as lines
                join ops.journal_batches as batches
                    on batches.batch_id = lines.batch_id
                    and batches.batch_version = lines.batch_version
                where batches.window_start >= $start and batches.window_start < $end
                group by all
            ),
            delta as (
                select coalesce(desired.batch_id, held.batch_id) as batch_id,
                       coalesce(desired.account_number, held.account_number) as account_number,
                       coalesce(desired.product_id, held.product_id) as product_id,
                       coalesce(desired.amount_minor, 0) - coalesce(held.amount_minor, 0)
                           as amount_minor,
                       coalesce(desired.quantity, 0) - coalesce(held.quantity, 0) as quantity,
                       coalesce(desired.billable_quantity, 0)
                           - coalesce(held.billable_quantity, 0) as billable_quantity,
                       coalesce(desired.event_count, 0) - coalesce(held.event_count, 0)
                           as event_count
                from desired
                full outer join held
                    on desired.batch_id = held.batch_id
                    and desired.account_number = held.account_number
                    and desired.product_id = held.product_id
            ),
            changed as (select * from delta where amount_minor <> 0),
            headers as (
                select distinct batch_id, window_start_at, window_end_at, accounting_date,
                       accounting_period, legal_entity_code, currency
                from desired
                union
                select distinct batch_id, window_start, window_end,
                       cast(timezone('{cfg.accounting_timezone}', window_start) as date),
                       strftime(timezone('{cfg.accounting_timezone}', window_start), '%Y-%m'),
                       legal_entity, currency
                from ops.journal_batches
                where window_start >= $start and window_start < $end
            ),
            versions as (
                select batch_id, max(batch_version) as last_version
                from ops.journal_batches group by batch_id
            )
            select changed.*,
                   coalesce(versions.last_version, 0) + 1 as batch_version,
                   headers.window_start_at, headers.window_end_at, headers.accounting_date,
                   headers.accounting_period, headers.legal_entity_code, headers.currency,
                   row_number() over (partition by changed.batch_id
                                      order by changed.product_id,
                                               changed.amount_minor < 0,
                                               changed.account_number) as line_number
            from changed
            join (select distinct on (batch_id) * from headers order by batch_id)
                as headers using (batch_id)
            left join versions using (batch_id)
        """, params)
        con.execute("""
            insert into ops.journal_batch_lines
            select batch_id, batch_version, line_number, account_number, product_id,
                   amount_minor, quantity, billable_quantity, event_count
            from journal_plan
        """)
        con.execute(f"""
            insert into ops.journal_batches (batch_id, batch_version, external_id, legal_entity,
                currency, window_start, window_end, posting_period, amount, status,
                erp_transaction_id, created_at, updated_at, kind, tran_date, accounting_period,
                memo, attempts)
            select plan.batch_id, plan.batch_version,
                   plan.batch_id || ':v' || plan.batch_version,
                   any_value(plan.legal_entity_code), any_value(plan.currency),
                   any_value(plan.window_start_at), any_value(plan.window_end_at),
                   any_value(plan.accounting_period),
                   {_revenue_sql()},
                   'pending', null, $now, $now,
                   case when plan.batch_version = 1 then 'original' else 'adjustment' end,
                   any_value(plan.accounting_date), any_value(plan.accounting_period),
                   null, 0
            from journal_plan as plan
            group by plan.batch_id, plan.batch_version
        """, {"now": scope.now})
        [(originals, adjustments)] = con.execute(
            "select count(distinct batch_id) filter (where batch_version = 1),"
            " count(distinct batch_id) filter (where batch_version > 1) from journal_plan"
        ).fetchall()
        con.execute("drop table journal_plan")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return PlanResult(originals=int(originals or 0), adjustments=int(adjustments or 0))


def _revenue_sql() -> str:
    """The version's net usage revenue in major units: minus its credit-account lines.

    Exact: minor units times the DECIMAL literal 10^-exponent of the currency.
    """
    scale = " ".join(
        f"when '{code}' then cast('{to_major(1, code)}' as decimal(20, {exp}))"
        for code, exp in sorted(CURRENCY_EXPONENTS.items()))
    return f"""
        cast(-sum(plan.amount_minor) filter (where plan.account_number = (
                select credit_account_number from staging.stg_reference__account_mapping
                where event_class = 'usage_accrual'))
             * case upper(any_value(plan.currency)) {scale} end as decimal(20, 4))
    """
