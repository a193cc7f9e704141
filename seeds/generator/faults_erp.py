"""Faults on ERP invoices: missing, extra, duplicated, mis-posted, mis-stated, restated.

Every fault edits one billing invoice's ERP document (the Picker keeps them disjoint) and
records its exception plus its signed effect on the customer's open receivable and on the
deferred-revenue movement of the period(s) it touches.  Document totals and GL lines are
edited together, so every ERP transaction still balances after injection.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from .calendar import AS_OF_EPOCH, GRACE_HOURS, LAST_CLOSED_PERIOD
from .erp_edit import ErpWork
from .picking import Picker
from .truth import Truth

PAST_GRACE = AS_OF_EPOCH - (GRACE_HOURS + 24) * 3600
DAY = 86_400
INVOICE_KEY = pl.lit("invoice:") + pl.col("invoice")
SIDE: dict[str, Any] = dict(entity="entity", currency="currency", period="period")


def _pct(lo: int, hi: int) -> pl.Expr:
    """A deterministic per-invoice percentage in [lo, hi] (no extra random stream needed)."""
    return lo + (pl.col("created_erp") % (hi - lo + 1))


def _ar(truth: Truth, frame: pl.DataFrame, delta: pl.Expr) -> None:
    truth.ar_delta(frame, pl.col("customer"), pl.col("currency"), delta)


def _rf(truth: Truth, frame: pl.DataFrame, delta: pl.Expr, entity: str = "entity",
        currency: str = "currency", period: str = "period") -> None:
    truth.rf_delta(frame, pl.col(entity), pl.col(currency), pl.col(period), delta)


def missing_and_extra(w: ErpWork, p: Picker, truth: Truth, timing: pl.DataFrame) -> None:
    """INVOICE_MISSING_IN_ERP, ERP_INVOICE_NOT_IN_BILLING, DUPLICATE_ERP_POSTING."""
    planted = w.invoices.join(timing, on="invoice")
    w.drop(planted["key"])  # planted timing cases never reach the ERP
    w.invoices = w.invoices.join(timing, on="invoice", how="anti")
    p.taken.update(timing["invoice"].to_list())
    inv = w.invoices
    live = inv.filter(pl.col("erp_status") != "V")
    gone = p.take("INVOICE_MISSING_IN_ERP", live.filter(
        ~pl.col("has_credit") & (pl.col("finalized_at") <= PAST_GRACE)))
    gone = truth.record("INVOICE_MISSING_IN_ERP", gone, natural_key=INVOICE_KEY, **SIDE,
                        billing_minor="total", other_minor=pl.lit(0),
                        difference_minor=-pl.col("total"), detail=pl.lit("not in the ERP"))
    w.drop(pl.concat([gone["key"], "pay:" + gone["invoice"]]))
    _ar(truth, gone, -pl.col("remaining_minor"))
    _rf(truth, gone, -pl.col("deferred"))

    closed = live.filter(pl.col("period") <= LAST_CLOSED_PERIOD)
    manual = p.take("ERP_INVOICE_NOT_IN_BILLING", closed)
    tx, lines = w.clone(manual, "man")
    w.add(tx.with_columns(externalid=pl.lit(None, pl.String), status=pl.lit("A"),
                          remaining_minor="total_minor", memo=pl.lit("Manual invoice"),
                          created=pl.col("created") + 3600,
                          lastmodified=pl.col("created") + 3600),
          lines.with_columns(invoice_line=pl.lit(None, pl.String),
                             linemod=pl.col("linemod") + 3600))
    manual = truth.record("ERP_INVOICE_NOT_IN_BILLING", manual,
                          natural_key=pl.lit("pending"), erp_key=pl.lit("man:") + pl.col("key"),
                          **SIDE, billing_minor=pl.lit(0), other_minor="total_minor",
                          difference_minor="total_minor",
                          detail=pl.lit("ERP invoice without a billing invoice (no externalid)"))
    _ar(truth, manual, pl.col("total_minor"))
    _rf(truth, manual, pl.col("deferred"))

    dup = p.take("DUPLICATE_ERP_POSTING", closed)
    tx, lines = w.clone(dup, "dup")
    w.add(tx.with_columns(created=pl.col("created") + 7200,
                          lastmodified=pl.col("lastmodified") + 7200),
          lines.with_columns(linemod=pl.col("linemod") + 7200))
    dup = truth.record("DUPLICATE_ERP_POSTING", dup, natural_key=INVOICE_KEY, **SIDE,
                       billing_minor="total", other_minor=pl.col("total_minor") * 2,
                       difference_minor="total_minor", detail=pl.lit("posted twice"))
    _ar(truth, dup, pl.col("remaining_minor"))
    _rf(truth, dup, pl.col("deferred"))


def misstated(w: ErpWork, p: Picker, truth: Truth) -> None:
    """AMOUNT_MISMATCH (and the quiet within-tolerance case) and TAX_MISMATCH."""
    open_inv = w.invoices.filter((pl.col("erp_status") == "A") & ~pl.col("has_credit")
                                 & (pl.col("remaining_minor") > 0))
    for code, delta, expected in (
        ("AMOUNT_MISMATCH", pl.max_horizontal(pl.lit(3), pl.col("total") * _pct(2, 20) // 100),
         True),
        ("AMOUNT_WITHIN_TOLERANCE", pl.lit(1, pl.Int64), False),
    ):
        chosen = p.take(code, open_inv).with_columns(d=delta)
        chosen = truth.record(code, chosen, expected=expected, natural_key=INVOICE_KEY, **SIDE,
                              billing_minor="total", other_minor=pl.col("total") + pl.col("d"),
                              difference_minor="d", detail=pl.lit("ERP total differs"))
        w.set_tx(chosen.select("key", total_minor=pl.col("total_minor") + pl.col("d"),
                               remaining_minor=pl.col("remaining_minor") + pl.col("d")))
        seqs = w.first_deferred_seq(chosen).join(chosen.select("key", "d"), on="key")
        w.add_to_lines(pl.concat([chosen.select("key", seq=pl.lit(0, pl.Int64), delta="d"),
                                  seqs.select("key", "seq", delta=-pl.col("d"))]))
        _ar(truth, chosen, pl.col("d"))
        _rf(truth, chosen, pl.col("d"))

    taxed = w.invoices.filter((pl.col("erp_status") != "V") & (pl.col("tax") >= 10))
    tax = p.take("TAX_MISMATCH", taxed).with_columns(
        d=pl.max_horizontal(pl.lit(2), pl.col("tax") * _pct(10, 50) // 100))
    tax = truth.record("TAX_MISMATCH", tax, natural_key=INVOICE_KEY, **SIDE,
                       billing_minor="tax", other_minor=pl.col("tax") - pl.col("d"),
                       difference_minor=-pl.col("d"),
                       detail=pl.lit("ERP tax line lower; the difference sits in revenue"))
    seqs = w.first_deferred_seq(tax).join(tax.select("key", "d"), on="key")
    w.add_to_lines(pl.concat([tax.select("key", seq=pl.lit(999, pl.Int64), delta="d"),
                              seqs.select("key", "seq", delta=-pl.col("d"))]))
    _rf(truth, tax, pl.col("d"))


def misposted(w: ErpWork, p: Picker, truth: Truth, customers: pl.DataFrame) -> None:
    """CURRENCY_MISMATCH, CUSTOMER_MISMATCH, ENTITY_MISMATCH, PERIOD_MISMATCH."""
    paid = w.invoices.filter((pl.col("erp_status") == "B") & ~pl.col("has_credit"))
    swap = {"EUR": "GBP", "GBP": "EUR"}  # same exponent, so ERP amounts stay valid
    ccy = p.take("CURRENCY_MISMATCH", paid.filter(pl.col("currency").is_in(list(swap))))
    ccy = ccy.with_columns(erp_currency=pl.col("currency").replace_strict(swap))
    ccy = truth.record("CURRENCY_MISMATCH", ccy, natural_key=INVOICE_KEY, **SIDE,
                       billing_minor="total", other_minor="total_minor",
                       difference_minor=pl.lit(0),
                       detail=pl.format("billed in {}, posted in {}", "currency",
                                        "erp_currency"))
    w.set_tx(ccy.select("key", currency="erp_currency"))
    _rf(truth, ccy, -pl.col("deferred"))
    _rf(truth, ccy, pl.col("deferred"), currency="erp_currency")

    ranked = customers.sort("entity", "currency", "cidx").with_columns(
        nxt=pl.col("id").shift(-1).over("entity", "currency"),
        first=pl.col("id").first().over("entity", "currency"),
        size=pl.len().over("entity", "currency"),
    ).filter(pl.col("size") >= 2).select(customer="id", other=pl.coalesce("nxt", "first"))
    cus = p.take("CUSTOMER_MISMATCH", paid.join(ranked, on="customer"))
    cus = truth.record("CUSTOMER_MISMATCH", cus, natural_key=INVOICE_KEY, **SIDE,
                       billing_minor="total", other_minor="total_minor",
                       difference_minor=pl.lit(0),
                       detail=pl.format("billed to {}, posted to {}", "customer", "other"))
    w.set_tx(cus.select("key", customer="other"))

    other_entity = {"US01": "EU01", "EU01": "US01"}
    ent = p.take("ENTITY_MISMATCH", paid).with_columns(
        erp_entity=pl.col("entity").replace_strict(other_entity))
    ent = truth.record("ENTITY_MISMATCH", ent, natural_key=INVOICE_KEY, **SIDE,
                       billing_minor="total", other_minor="total_minor",
                       difference_minor=pl.lit(0),
                       detail=pl.format("billed by {}, posted to {}", "entity", "erp_entity"))
    w.set_tx(ent.select("key", entity="erp_entity"))
    _rf(truth, ent, -pl.col("deferred"))
    _rf(truth, ent, pl.col("deferred"), entity="erp_entity")

    movable = w.invoices.filter((pl.col("erp_status") != "V") & ~pl.col("has_credit")
                                & (pl.col("period") < LAST_CLOSED_PERIOD))
    per = p.take("PERIOD_MISMATCH", movable)
    next_month = pl.col("period").str.to_date("%Y-%m").dt.offset_by("1mo")
    per = per.with_columns(erp_period=next_month.dt.strftime("%Y-%m"), erp_date=next_month)
    per = truth.record("PERIOD_MISMATCH", per, natural_key=INVOICE_KEY, **SIDE,
                       billing_minor="total", other_minor="total_minor",
                       difference_minor=pl.lit(0),
                       detail=pl.format("finalized in {}, posted to {}", "period", "erp_period"))
    w.set_tx(per.select("key", period="erp_period", trandate="erp_date"))
    _rf(truth, per, -pl.col("deferred"))
    _rf(truth, per, pl.col("deferred"), period="erp_period")


def wrong_status(w: ErpWork, p: Picker, truth: Truth, lines: pl.DataFrame) -> None:
    """STATUS_MISMATCH: void in billing but open in ERP; paid in billing but open in ERP."""
    voids = p.take("STATUS_MISMATCH", w.invoices.filter(pl.col("erp_status") == "V"))
    voids = truth.record("STATUS_MISMATCH", voids, natural_key=INVOICE_KEY, **SIDE,
                         billing_minor=pl.lit(0), other_minor="total",
                         difference_minor="total",
                         detail=pl.lit("void in billing, open in the ERP"))
    w.set_tx(voids.select("key", status=pl.lit("A"), voided=pl.lit("F"), total_minor="total",
                          remaining_minor="total"))
    restored = lines.join(voids.select("invoice", "key"), left_on="invoice", right_on="invoice")
    w.set_lines(pl.concat([
        voids.select("key", seq=pl.lit(0, pl.Int64), amount_minor="total"),
        restored.select("key", seq="line_number", amount_minor=-pl.col("amount")),
        voids.filter(pl.col("tax") != 0).select("key", seq=pl.lit(999, pl.Int64),
                                                amount_minor=-pl.col("tax")),
    ]))
    deferred = restored.filter(pl.col("item_kind") != "usage").group_by("key").agg(
        restored_deferred=pl.col("amount").sum())
    voids = voids.join(deferred, on="key", how="left")
    _ar(truth, voids, pl.col("total"))
    _rf(truth, voids, pl.col("restored_deferred").fill_null(0))

    paid = w.invoices.filter((pl.col("erp_status") == "B") & ~pl.col("has_credit"))
    unpaid = p.take("STATUS_MISMATCH", paid)
    unpaid = truth.record("STATUS_MISMATCH", unpaid, natural_key=INVOICE_KEY, **SIDE,
                          billing_minor="total", other_minor="total",
                          difference_minor=pl.lit(0),
                          detail=pl.lit("paid in billing, open in the ERP"))
    w.set_tx(unpaid.select("key", status=pl.lit("A"), remaining_minor="total"))
    w.drop("pay:" + unpaid["invoice"])
    _ar(truth, unpaid, pl.col("total"))


def after_close(w: ErpWork, p: Picker, truth: Truth) -> None:
    """CLOSED_PERIOD_POSTING (created after close) and RESTATEMENT (edited after close)."""
    closed = w.invoices.filter((pl.col("erp_status") != "V")
                               & (pl.col("period") <= LAST_CLOSED_PERIOD))
    late = p.take("CLOSED_PERIOD_POSTING", closed).with_columns(
        new_created=pl.min_horizontal(pl.col("closed_at") + _pct(1, 5) * DAY,
                                      pl.lit(AS_OF_EPOCH - 3600)))
    late = truth.record("CLOSED_PERIOD_POSTING", late, natural_key=INVOICE_KEY, **SIDE,
                        billing_minor="total", other_minor="total_minor",
                        difference_minor=pl.lit(0),
                        detail=pl.lit("posted into the period after it was closed"))
    w.set_tx(late.select("key", created="new_created", lastmodified="new_created"))
    keyed = w.docs.lines.join(late.select("key", "new_created"), on="key")
    w.set_lines(keyed.select("key", "seq", linemod="new_created"))

    edited = p.take("RESTATEMENT", closed).with_columns(
        edit_at=pl.min_horizontal(pl.col("closed_at") + _pct(2, 10) * DAY,
                                  pl.lit(AS_OF_EPOCH - 3600)))
    edited = truth.record("RESTATEMENT", edited, natural_key=pl.lit("pending"),
                          erp_key="key", **SIDE, billing_minor="total",
                          other_minor="total_minor", difference_minor=pl.lit(0),
                          detail=pl.lit("a GL line was changed after the period closed"))
    seqs = w.first_deferred_seq(edited).join(edited.select("key", "edit_at"), on="key")
    w.set_lines(seqs.select("key", "seq", linemod="edit_at",
                            memo=pl.lit("Reclassified after close")))
    w.set_tx(edited.select("key", lastmodified="edit_at"))
