"""A clean company: billing, ERP and revrec agree everywhere (DESIGN §3.1)."""

from __future__ import annotations

import polars as pl
import pytest

from seeds.generator import CompanySummary
from seeds.generator.calendar import ACCOUNTING_TZ

from .ledger import (
    connect,
    customer_ar_breaks,
    in_transit_cutoff,
    rollforward_breaks,
    unbalanced_transactions,
)


@pytest.fixture(scope="module")
def con(clean_company: CompanySummary):
    return connect(clean_company.out_dir)


def test_ground_truth_is_empty(clean_company: CompanySummary) -> None:
    truth = pl.read_csv(clean_company.out_dir / "ground_truth.csv")
    assert truth.height == 0
    assert clean_company.exceptions == {}


def test_every_finalized_invoice_is_posted_exactly_once(con) -> None:
    counts = con.sql("""
        SELECT i.id, i.finalized_at, count(t.id) AS n
        FROM billing_invoices i LEFT JOIN erp_tx t
          ON t.externalid = i.id AND t.type = 'CustInvc'
        GROUP BY ALL""").pl()
    synced = counts.filter(pl.col("finalized_at") <= in_transit_cutoff())
    assert synced.height > 2000
    assert synced.filter(pl.col("n") != 1).is_empty()
    # Only the last minutes before the snapshot may still be in transit.
    assert counts.filter(pl.col("n") == 0)["finalized_at"].min() is None or \
        counts.filter(pl.col("n") == 0)["finalized_at"].min() > in_transit_cutoff()
    orphans = con.sql("""
        SELECT count(*) FROM erp_tx t LEFT JOIN billing_invoices i ON i.id = t.externalid
        WHERE t.type = 'CustInvc' AND i.id IS NULL""").fetchall()[0][0]
    assert orphans == 0


def test_invoice_headers_agree(con) -> None:
    diffs = con.sql(f"""
        SELECT i.id, i.status, i.total, t.foreigntotal * t.scale AS erp_total, t.status AS s,
               upper(i.currency) = t.ccy AS same_ccy, i.customer = t.billing_customer AS same_cus,
               c.legal_entity = t.entity AS same_entity,
               strftime(timezone('{ACCOUNTING_TZ}', to_timestamp(i.finalized_at)), '%Y-%m')
                 = t.period AS same_period
        FROM billing_invoices i JOIN erp_tx t ON t.externalid = i.id AND t.type = 'CustInvc'
        JOIN billing_customers c ON c.id = i.customer""").pl()
    live = diffs.filter(pl.col("status") != "void")
    assert live.filter(pl.col("total") != pl.col("erp_total")).is_empty()
    assert diffs.filter(~pl.col("same_ccy") | ~pl.col("same_cus") | ~pl.col("same_entity")
                        | ~pl.col("same_period")).is_empty()
    voids = diffs.filter(pl.col("status") == "void")
    assert voids.height > 0
    assert voids.filter((pl.col("s") != "V") | (pl.col("erp_total") != 0)).is_empty()
    expected = {"open": "A", "paid": "B", "void": "V"}
    assert diffs.filter(pl.col("s") != pl.col("status").replace_strict(expected)).is_empty()


def test_every_erp_transaction_balances(con) -> None:
    assert con.execute("SELECT count(*) FROM erp_transaction").fetchall()[0][0] > 5000
    assert unbalanced_transactions(con) == 0


def test_schedules_sum_to_line_net_of_credits(con) -> None:
    rows = con.sql("""
        WITH credits AS (SELECT invoice_line, sum(amount) AS credited
                         FROM billing_credit_note_lines GROUP BY ALL),
        parts AS (SELECT schedule_id, sum(amount::DECIMAL(20, 2)) AS s
                  FROM revrec_revenue_schedule_lines GROUP BY ALL)
        SELECT s.id, s.total_amount::DECIMAL(20, 2) AS total, p.s AS parts,
               (l.amount - coalesce(c.credited, 0))
                 / CASE s.currency WHEN 'JPY' THEN 1 ELSE 100 END AS expected
        FROM revrec_revenue_schedules s JOIN parts p ON p.schedule_id = s.id
        JOIN billing_invoice_lines l ON l.id = s.invoice_line_id
        LEFT JOIN credits c ON c.invoice_line = l.id""").pl()
    assert rows.height > 3000
    assert rows.filter(pl.col("total") != pl.col("parts")).is_empty()
    assert rows.filter(pl.col("total") != pl.col("expected")).is_empty()


def test_every_recognisable_line_has_one_schedule(con) -> None:
    rows = con.sql("""
        SELECT l.id, i.finalized_at, count(s.id) AS n
        FROM billing_invoice_lines l JOIN billing_invoices i ON i.id = l.invoice
        LEFT JOIN revrec_revenue_schedules s ON s.invoice_line_id = l.id
        WHERE i.status <> 'void' AND l.amount <> 0 GROUP BY ALL""").pl()
    synced = rows.filter(pl.col("finalized_at") <= in_transit_cutoff())
    assert synced.filter(pl.col("n") != 1).is_empty()


def test_deferred_revenue_rollforward_ties_to_gl(con) -> None:
    assert rollforward_breaks(con) == {}
    # and the cumulative deferred balance in the GL is never negative per entity/currency
    negative = con.sql("""
        SELECT count(*) FROM (
          SELECT t.entity, t.ccy, t.period,
                 sum(-sum(l.foreignamount)) OVER (PARTITION BY t.entity, t.ccy ORDER BY t.period)
                   AS balance
          FROM erp_tx t JOIN erp_transactionline l ON l.transaction = t.id
          JOIN erp_account a ON a.id = l.account AND a.acctnumber = '2300'
          GROUP BY t.entity, t.ccy, t.period) WHERE balance < 0""").fetchall()[0][0]
    assert negative == 0


def test_customer_receivables_agree(con) -> None:
    assert customer_ar_breaks(con) == set()


def test_usage_events_are_invoiced_exactly(con) -> None:
    rows = con.sql("""
        SELECT l.subscription_item, l.quantity,
               (SELECT coalesce(sum(e.quantity), 0) FROM usage_events e
                WHERE e.subscription_item = l.subscription_item
                  AND epoch(e.occurred_at) >= l.period_start
                  AND epoch(e.occurred_at) < l.period_end) AS used
        FROM billing_invoice_lines l WHERE l.product = 'prod_api'""").pl()
    assert rows.height > 100
    assert rows.filter(pl.col("quantity") != pl.col("used")).is_empty()
    late = con.execute("""SELECT count(*) FROM usage_events
                          WHERE received_at > occurred_at + INTERVAL 2 HOUR""").fetchall()[0][0]
    assert late > 0  # late events exist, and were still invoiced


def test_jpy_has_no_minor_unit_anywhere(con) -> None:
    fractional = con.execute("""
        SELECT count(*) FROM erp_tx WHERE ccy = 'JPY' AND foreigntotal <> round(foreigntotal)
        UNION ALL
        SELECT count(*) FROM revrec_revenue_schedules
        WHERE currency = 'JPY' AND total_amount LIKE '%.%'""").fetchall()
    assert [n for (n,) in fractional] == [0, 0]
    assert con.execute("SELECT count(*) FROM billing_invoices WHERE currency = 'jpy'"
                       ).fetchall()[0][0] > 0


def test_lifecycle_is_realistic(con) -> None:
    seen = dict(con.execute("SELECT billing_reason, count(*) FROM billing_invoices GROUP BY ALL"
                            ).fetchall())
    assert {"subscription_create", "subscription_cycle", "subscription_update"} <= set(seen)
    statuses = {s for (s,) in con.execute("SELECT DISTINCT status FROM billing_invoices"
                                          ).fetchall()}
    assert statuses == {"open", "paid", "void"}
    assert con.execute("SELECT count(*) FROM billing_invoices WHERE attempt_count >= 3 "
                       "AND status = 'open'").fetchall()[0][0] > 0  # failed payments
    kinds = dict(con.execute("SELECT type, count(*) FROM billing_credit_notes GROUP BY ALL"
                             ).fetchall())
    assert kinds.get("post_payment", 0) > 0 and kinds.get("pre_payment", 0) > 0
    assert con.execute("SELECT count(*) FROM billing_invoice_lines WHERE proration").fetchall()[0][
        0] > 0
    assert con.execute("SELECT count(*) FROM billing_subscriptions WHERE status = 'canceled'"
                       ).fetchall()[0][0] > 0
    intervals = {i for (i,) in con.execute(
        "SELECT DISTINCT billing_interval FROM billing_subscriptions").fetchall()}
    assert intervals == {"month", "year"}
    ccys = {c for (c,) in con.execute("SELECT DISTINCT currency FROM billing_customers"
                                      ).fetchall()}
    assert ccys == {"usd", "eur", "gbp", "jpy"}
