"""A company with planted faults: ground truth is complete, precise and self-consistent."""

from __future__ import annotations

import polars as pl
import pytest

from seeds.generator import CompanySummary
from tieout.rules import QUIET_CASES, RULES

from .ledger import connect, customer_ar_breaks, rollforward_breaks, unbalanced_transactions


@pytest.fixture(scope="module")
def truth(company: CompanySummary) -> pl.DataFrame:
    return pl.read_csv(company.out_dir / "ground_truth.csv", infer_schema=False).with_columns(
        expected_reported=pl.col("expected_reported") == "true")


@pytest.fixture(scope="module")
def con(company: CompanySummary):
    return connect(company.out_dir)


def test_every_rule_is_planted(truth: pl.DataFrame) -> None:
    reported = set(truth.filter("expected_reported")["rule"])
    assert reported == set(RULES), f"missing: {set(RULES) - reported}"
    quiet = set(truth.filter(~pl.col("expected_reported"))["rule"])
    assert quiet == set(QUIET_CASES)


def test_rows_are_unique_and_rules_known(truth: pl.DataFrame) -> None:
    assert truth.select("rule", "natural_key").is_duplicated().sum() == 0
    assert set(truth["rule"]) <= set(RULES) | set(QUIET_CASES)
    assert truth.filter(pl.col("root_cause").is_null()).is_empty()


def test_natural_keys_follow_each_rules_shape(truth: pl.DataFrame) -> None:
    for row in truth.filter("expected_reported").iter_rows(named=True):
        prefix = RULES[row["rule"]].key.split(":")[0]
        assert row["natural_key"].startswith(prefix + ":"), row


def _ids(truth: pl.DataFrame, prefix: str) -> list[str]:
    keys = truth.filter(pl.col("natural_key").str.starts_with(prefix + ":"))["natural_key"]
    return sorted({k.split(":", 1)[1].split("|")[0] for k in keys})


def test_natural_keys_name_real_records(truth: pl.DataFrame, con) -> None:
    lookups = {
        "invoice": "SELECT id FROM billing_invoices",
        "invoice_line": "SELECT id FROM billing_invoice_lines",
        "credit_note": "SELECT id FROM billing_credit_notes",
        "schedule": "SELECT id FROM revrec_revenue_schedules",
        "erp_transaction": "SELECT id::VARCHAR FROM erp_transaction",
        "customer": "SELECT id FROM billing_customers",
        "subscription": "SELECT id FROM billing_subscriptions",
        "subscription_item": "SELECT id FROM billing_subscription_items",
    }
    for prefix, query in lookups.items():
        wanted = _ids(truth, prefix)
        existing = {r for (r,) in con.execute(query).fetchall()}
        assert wanted, prefix
        assert set(wanted) <= existing, (prefix, set(wanted) - existing)


def test_erp_still_balances(con) -> None:
    assert unbalanced_transactions(con) == 0


def test_missing_duplicate_and_orphan_invoices_are_as_stated(truth: pl.DataFrame, con) -> None:
    posted = dict(con.execute("""SELECT externalid, count(*) FROM erp_transaction
                                 WHERE type = 'CustInvc' GROUP BY ALL""").fetchall())
    for rule, expected in (("INVOICE_MISSING_IN_ERP", 0), ("DUPLICATE_ERP_POSTING", 2)):
        for invoice in _ids(truth.filter(pl.col("rule") == rule), "invoice"):
            assert posted.get(invoice, 0) == expected, (rule, invoice)
    for invoice in _ids(truth.filter(pl.col("rule") == "INVOICE_IN_TRANSIT"), "invoice"):
        assert invoice not in posted
    manual = _ids(truth.filter(pl.col("rule") == "ERP_INVOICE_NOT_IN_BILLING"),
                  "erp_transaction")
    rows = con.execute(f"""SELECT externalid FROM erp_transaction
                           WHERE id IN ({",".join(manual)})""").fetchall()
    assert len(rows) == len(manual) and all(r[0] is None for r in rows)


def test_customer_receivable_breaks_match_ground_truth(truth: pl.DataFrame, con) -> None:
    expected = set(truth.filter(pl.col("rule") == "AR_CUSTOMER_MISMATCH")["natural_key"])
    assert expected
    assert customer_ar_breaks(con) == expected


def test_rollforward_breaks_match_ground_truth(truth: pl.DataFrame, con) -> None:
    rows = truth.filter(pl.col("rule") == "ROLLFORWARD_BREAK")
    found = rollforward_breaks(con)
    assert set(found) == set(rows["natural_key"])
    # and the amounts agree, in minor units of each currency
    for key, difference, currency in rows.select("natural_key", "difference", "currency"
                                                 ).iter_rows():
        scale = 1 if currency == "JPY" else 100
        assert found[key] == round(float(difference) * scale), key  # float only to compare


def test_quiet_cases_are_really_quiet(truth: pl.DataFrame, con) -> None:
    quiet = truth.filter(pl.col("rule") == "AMOUNT_WITHIN_TOLERANCE")
    for invoice in _ids(quiet, "invoice"):
        billing, erp, ccy = con.execute(f"""
            SELECT i.total, t.foreigntotal, t.ccy FROM billing_invoices i
            JOIN erp_tx t ON t.externalid = i.id WHERE i.id = '{invoice}'""").fetchall()[0]
        scale = 1 if ccy == "JPY" else 100
        assert int(erp * scale) - billing == 1
