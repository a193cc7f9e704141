"""Faults in the ERP ledger beyond invoice documents: payments, credit memos, journals.

An ERP-only partial payment breaks one invoice's open balance; an unapplied payment breaks
only the customer's; a refund credit note missing from the ERP breaks deferred revenue in its
period; a wrong revenue journal breaks the roll-forward directly; a manual usage-revenue
entry breaks the usage tie-out.  Each records its exception or its aggregate delta.
"""

from __future__ import annotations

import polars as pl

from . import reference as ref
from .calendar import AS_OF_EPOCH, GRACE_HOURS, LAST_CLOSED_PERIOD, local_date, period_of
from .erp_edit import ErpWork
from .picking import Picker
from .truth import Truth

PAST_GRACE = AS_OF_EPOCH - (GRACE_HOURS + 24) * 3600
DAY = 86_400


def _payment_docs(frame: pl.DataFrame, key: pl.Expr, created: pl.Expr, amount: str,
                  applied: pl.Expr | None, remaining: pl.Expr) -> tuple[pl.DataFrame,
                                                                         pl.DataFrame]:
    tx = frame.with_columns(k=key, c=created).select(
        key="k", type=pl.lit("CustPymt"), externalid=pl.lit("ch_erp_") + pl.col("k")
        .str.slice(5), customer="customer", entity="entity", currency="currency",
        trandate=local_date(pl.col("c")), period=period_of(pl.col("c")), status=pl.lit("C"),
        voided=pl.lit("F"), total_minor=amount, remaining_minor=remaining,
        applied_key=applied if applied is not None else pl.lit(None, pl.String),
        memo=pl.lit("Payment recorded in the ERP"), duedate=pl.lit(None, pl.Date),
        created="c", lastmodified="c")
    lines = pl.concat([
        tx.select("key", seq=pl.lit(0, pl.Int64), mainline=pl.lit("T"), taxline=pl.lit("F"),
                  acct=pl.lit("1000"), amount_minor="total_minor", memo=pl.lit(None, pl.String),
                  invoice_line=pl.lit(None, pl.String), linemod="created"),
        tx.select("key", seq=pl.lit(1, pl.Int64), mainline=pl.lit("F"), taxline=pl.lit("F"),
                  acct=pl.lit("1100"), amount_minor=-pl.col("total_minor"),
                  memo=pl.lit(None, pl.String), invoice_line=pl.lit(None, pl.String),
                  linemod="created"),
    ])
    return tx, lines


def receivables(w: ErpWork, p: Picker, truth: Truth, customers: pl.DataFrame) -> None:
    """AR_INVOICE_MISMATCH (ERP-only partial payment) and AR_CUSTOMER_MISMATCH (unapplied)."""
    open_inv = w.invoices.filter((pl.col("erp_status") == "A") & ~pl.col("has_credit")
                                 & (pl.col("remaining_minor") >= 10))
    part = p.take("AR_INVOICE_MISMATCH", open_inv).with_columns(
        x=pl.max_horizontal(pl.lit(2), pl.col("remaining_minor")
                            * (10 + pl.col("created_erp") % 41) // 100))
    part = truth.record("AR_INVOICE_MISMATCH", part, natural_key=pl.lit("invoice:") + pl.col(
        "invoice"), entity="entity", currency="currency", period="period",
        billing_minor="remaining_minor", other_minor=pl.col("remaining_minor") - pl.col("x"),
        difference_minor=-pl.col("x"), detail=pl.lit("a partial payment exists only in the ERP"))
    w.set_tx(part.select("key", remaining_minor=pl.col("remaining_minor") - pl.col("x")))
    tx, lines = _payment_docs(part, pl.lit("ppay:") + pl.col("invoice"),
                              pl.lit(AS_OF_EPOCH - 2 * DAY), "x", pl.col("key"), pl.lit(0))
    w.add(tx, lines)
    truth.ar_delta(part, pl.col("customer"), pl.col("currency"), -pl.col("x"))

    pool = customers.select("cidx", "entity", "currency", customer="id", invoice="id")
    unapplied = truth.new_ids(p.take("AR_CUSTOMER_MISMATCH", pool)).with_columns(
        x=1000 + pl.col("cidx") * 97 % 49000)
    tx, lines = _payment_docs(unapplied, pl.lit("upay:") + pl.col("customer"),
                              pl.lit(AS_OF_EPOCH - 3 * DAY), "x", None, pl.col("x"))
    w.add(tx, lines)
    truth.ar_delta(unapplied, pl.col("customer"), pl.col("currency"), -pl.col("x"))


def credit_memos(w: ErpWork, p: Picker, truth: Truth, notes: pl.DataFrame) -> None:
    """CREDIT_NOTE_MISSING_IN_ERP: a refunded credit note never reached the ERP."""
    pool = notes.filter((pl.col("type") == "post_payment")
                        & (pl.col("created") <= PAST_GRACE)).join(
        w.invoices.select("invoice", "entity"), on="invoice")
    gone = p.take("CREDIT_NOTE_MISSING_IN_ERP", pool).with_columns(
        period=period_of(pl.col("created")))
    gone = truth.record("CREDIT_NOTE_MISSING_IN_ERP", gone,
                        natural_key=pl.lit("credit_note:") + pl.col("id"), entity="entity",
                        currency="currency", period="period", billing_minor="total",
                        other_minor=pl.lit(0), difference_minor=-pl.col("total"),
                        detail=pl.lit("refunded credit note not in the ERP"))
    w.drop(pl.concat(["cred:" + gone["id"], "rfnd:" + gone["id"]]))
    truth.rf_delta(gone, pl.col("entity"), pl.col("currency"), pl.col("period"),
                   pl.col("subtotal"))


def journals(w: ErpWork, p: Picker, truth: Truth) -> None:
    """ROLLFORWARD_BREAK (a wrong revenue journal) and USAGE_JOURNAL_MISMATCH."""
    rev = w.docs.tx.filter(pl.col("key").str.starts_with("rev:")).select(
        "key", "entity", "currency", "period", "total_minor", invoice="key")
    broken = truth.new_ids(p.take("ROLLFORWARD_BREAK", rev)).with_columns(
        d=pl.max_horizontal(pl.lit(5), pl.col("total_minor").abs() * 3 // 100))
    w.set_tx(broken.select("key", total_minor=pl.col("total_minor") + pl.col("d")))
    w.add_to_lines(pl.concat([broken.select("key", seq=pl.lit(1, pl.Int64), delta="d"),
                              broken.select("key", seq=pl.lit(2, pl.Int64),
                                            delta=-pl.col("d"))]))
    truth.rf_delta(broken, pl.col("entity"), pl.col("currency"), pl.col("period"),
                   -pl.col("d"))

    combos = pl.DataFrame(
        [(code, ccy) for code, _, _, _, ccys in ref.ENTITIES for ccy in ccys],
        schema=["entity", "currency"], orient="row",
    ).join(w.docs.tx.filter(pl.col("key").str.starts_with("rev:")).select("period").unique(),
           how="cross").filter(pl.col("period") <= LAST_CLOSED_PERIOD).with_columns(
        invoice=pl.format("usage:{}|{}|{}", "entity", "currency", "period"))
    manual = p.take("USAGE_JOURNAL_MISMATCH", combos).with_columns(
        d=5000 + pl.col("period").str.slice(5).cast(pl.Int64) * 1009,
        end=pl.col("period").str.to_date("%Y-%m").dt.month_end())
    manual = truth.record("USAGE_JOURNAL_MISMATCH", manual,
                          natural_key=pl.format("usage_revenue:{}|{}|{}", "entity", "currency",
                                                "period"),
                          entity="entity", currency="currency", period="period",
                          billing_minor=pl.lit(0), other_minor="d", difference_minor="d",
                          detail=pl.lit("manual usage-revenue entry with no usage journal"))
    created = (pl.col("end").cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
               .dt.epoch("s") + DAY)
    tx = manual.with_columns(key=pl.lit("uj:") + pl.col("invoice").str.slice(6),
                             c=created).select(
        "key", type=pl.lit("Journal"), externalid=pl.lit(None, pl.String),
        customer=pl.lit(None, pl.String), entity="entity", currency="currency",
        trandate="end", period="period", status=pl.lit("B"), voided=pl.lit("F"),
        total_minor="d", remaining_minor=pl.lit(0), applied_key=pl.lit(None, pl.String),
        memo=pl.lit("Usage revenue true-up (manual)"), duedate=pl.lit(None, pl.Date),
        created="c", lastmodified="c")
    lines = pl.concat([
        tx.select("key", seq=pl.lit(1, pl.Int64), mainline=pl.lit("F"), taxline=pl.lit("F"),
                  acct=pl.lit("1150"), amount_minor="total_minor", memo="memo",
                  invoice_line=pl.lit(None, pl.String), linemod="created"),
        tx.select("key", seq=pl.lit(2, pl.Int64), mainline=pl.lit("F"), taxline=pl.lit("F"),
                  acct=pl.lit("4100"), amount_minor=-pl.col("total_minor"), memo="memo",
                  invoice_line=pl.lit(None, pl.String), linemod="created"),
    ])
    w.add(tx, lines)
