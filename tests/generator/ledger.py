"""Independent recomputation of the generated books with DuckDB, for the generator's tests.

These queries read only the written Parquet, never the generator's internals, so agreeing
with them is evidence that the files say what ground truth claims.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from seeds.generator.calendar import ACCOUNTING_TZ, AS_OF, GRACE_HOURS, LAST_CLOSED_PERIOD


def connect(root: Path) -> duckdb.DuckDBPyConnection:
    """A connection with one view per generated table (``billing_invoices`` etc.)."""
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{ACCOUNTING_TZ}'")
    for path in sorted(root.glob("*/*.parquet")):
        con.execute(f"CREATE VIEW {path.parent.name}_{path.stem} AS "
                    f"SELECT * FROM read_parquet('{path}')")
    con.execute(f"CREATE VIEW usage_events AS SELECT * FROM "
                f"read_parquet('{root}/usage/*/*.parquet', hive_partitioning = true)")
    con.execute("""
        CREATE VIEW erp_tx AS
        SELECT t.* EXCLUDE (entity), t.entity AS erp_customer, c.symbol AS ccy,
               s.externalid AS entity, cu.externalid AS billing_customer,
               strftime(p.startdate, '%Y-%m') AS period,
               CASE c.symbol WHEN 'JPY' THEN 1 ELSE 100 END AS scale
        FROM erp_transaction t
        JOIN erp_currency c ON c.id = t.currency
        JOIN erp_subsidiary s ON s.id = t.subsidiary
        JOIN erp_accountingperiod p ON p.id = t.postingperiod
        LEFT JOIN erp_customer cu ON cu.id = t.entity""")
    return con


def in_transit_cutoff() -> int:
    """Epoch seconds after which a billing document may still be on its way downstream."""
    return int(AS_OF.timestamp()) - GRACE_HOURS * 3600


def customer_ar_breaks(con: duckdb.DuckDBPyConnection) -> set[str]:
    """customer:<id>|<CCY> keys whose open receivable differs by more than one minor unit."""
    rows = con.execute(f"""
        WITH posted AS (SELECT DISTINCT externalid FROM erp_tx WHERE type = 'CustInvc'),
        billing AS (
            SELECT i.customer, upper(i.currency) AS ccy, sum(i.amount_remaining) AS amt
            FROM billing_invoices i LEFT JOIN posted p ON p.externalid = i.id
            WHERE i.status = 'open'
              AND NOT (p.externalid IS NULL AND i.finalized_at > {in_transit_cutoff()})
            GROUP BY ALL),
        erp AS (
            SELECT billing_customer AS customer, ccy,
                   sum(CASE WHEN type = 'CustInvc' AND status = 'A'
                            THEN foreignamountremaining * scale
                            WHEN type IN ('CustPymt', 'CustCred') AND appliedto IS NULL
                            THEN -foreignamountremaining * scale ELSE 0 END)::BIGINT AS amt
            FROM erp_tx WHERE billing_customer IS NOT NULL GROUP BY ALL)
        SELECT coalesce(b.customer, e.customer) || '|' || coalesce(b.ccy, e.ccy)
        FROM billing b FULL JOIN erp e ON b.customer = e.customer AND b.ccy = e.ccy
        WHERE abs(coalesce(e.amt, 0) - coalesce(b.amt, 0)) > 1""").fetchall()
    return {f"customer:{key}" for (key,) in rows}


def rollforward_breaks(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """rollforward:<ENT>|<CCY>|<YYYY-MM> -> ERP minus revrec deferred movement (minor units)."""
    rows = con.execute(f"""
        WITH erp AS (
            SELECT t.entity, t.ccy, t.period,
                   (-sum(l.foreignamount * t.scale))::BIGINT AS mv
            FROM erp_tx t JOIN erp_transactionline l ON l.transaction = t.id
            JOIN erp_account a ON a.id = l.account AND a.acctnumber = '2300'
            GROUP BY ALL),
        sched AS (
            SELECT id, legal_entity AS entity, currency AS ccy,
                   CASE currency WHEN 'JPY' THEN 1 ELSE 100 END AS scale,
                   total_amount, strftime(document_date, '%Y-%m') AS booked
            FROM revrec_revenue_schedules WHERE recognition_method <> 'usage'),
        revrec AS (
            SELECT entity, ccy, period, sum(mv)::BIGINT AS mv FROM (
                SELECT entity, ccy, booked AS period, total_amount::DECIMAL(20, 2) * scale AS mv
                FROM sched
                UNION ALL
                SELECT s.entity, s.ccy, l.period, -(l.amount::DECIMAL(20, 2) * s.scale)
                FROM sched s JOIN revrec_revenue_schedule_lines l ON l.schedule_id = s.id
                WHERE l.status = 'recognized')
            GROUP BY ALL)
        SELECT coalesce(e.entity, r.entity) || '|' || coalesce(e.ccy, r.ccy) || '|'
               || coalesce(e.period, r.period) AS key,
               coalesce(e.mv, 0) - coalesce(r.mv, 0) AS diff
        FROM erp e FULL JOIN revrec r
          ON e.entity = r.entity AND e.ccy = r.ccy AND e.period = r.period
        WHERE coalesce(e.period, r.period) <= '{LAST_CLOSED_PERIOD}'
          AND abs(coalesce(e.mv, 0) - coalesce(r.mv, 0)) > 1""").fetchall()
    return {f"rollforward:{key}": diff for key, diff in rows}


def unbalanced_transactions(con: duckdb.DuckDBPyConnection) -> int:
    """ERP transactions whose signed GL lines do not sum to zero."""
    rows = con.execute("""
        SELECT count(*) FROM (SELECT transaction FROM erp_transactionline
                              GROUP BY transaction HAVING sum(foreignamount) <> 0)""").fetchall()
    return int(rows[0][0])
