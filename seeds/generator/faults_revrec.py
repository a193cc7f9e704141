"""Faults in the revenue-recognition platform: missing, wrong, shifted and orphan schedules.

Each works on schedule headers (minor units) and their lines before the ERP's revenue
journals are derived from revrec, so the ERP follows revrec the way a real integration does,
and each fault's effect on the deferred-revenue roll-forward is its booking-period delta.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from .calendar import AS_OF_EPOCH, GRACE_HOURS, LAST_CLOSED_PERIOD
from .frames import ids
from .picking import Picker
from .revrec import allocate, finish_lines
from .truth import Truth

DAY = 86_400
PAST_GRACE = AS_OF_EPOCH - (GRACE_HOURS + 24) * 3600


def _booking(frame: pl.DataFrame) -> pl.Expr:
    return pl.col("document_date").dt.strftime("%Y-%m")


def _deferred(expr: pl.Expr) -> pl.Expr:
    """Only ratable and point-in-time schedules pass through deferred revenue."""
    return pl.when(pl.col("recognition_method") != "usage").then(expr).otherwise(0)


def inject_revrec(headers: pl.DataFrame, lines: pl.DataFrame, single_credits: pl.DataFrame,
                  picker: Picker, truth: Truth) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Apply every revrec rule's faults; returns the new headers and lines.

    ``single_credits`` lists (invoice_line, credit_note) for lines credited exactly once,
    the only ones CREDIT_NOT_REFLECTED is planted on so its key names one credit note.
    """
    h = headers.with_columns(invoice=pl.col("invoice_id"), booking=_booking(headers))
    old = h.filter(pl.col("finalized_at") <= PAST_GRACE)
    common: dict[str, Any] = dict(entity="legal_entity", currency="currency", period="booking")

    missing = picker.take("SCHEDULE_MISSING", old)
    missing = truth.record(
        "SCHEDULE_MISSING", missing, natural_key=pl.lit("invoice_line:") + pl.col(
            "invoice_line_id"), **common, billing_minor="total_minor", other_minor=pl.lit(0),
        difference_minor=-pl.col("total_minor"), detail=pl.lit("no revenue schedule"))
    truth.rf_delta(missing, pl.col("legal_entity"), pl.col("currency"), pl.col("booking"),
                   _deferred(pl.col("total_minor")))

    wrong = picker.take("SCHEDULE_TOTAL_MISMATCH", old)
    d = pl.max_horizontal(pl.lit(2), pl.col("total_minor").abs() * (3 + pl.col("created") % 18)
                          // 100)
    wrong = truth.record(
        "SCHEDULE_TOTAL_MISMATCH", wrong.with_columns(d=d),
        natural_key=pl.lit("invoice_line:") + pl.col("invoice_line_id"), **common,
        billing_minor="total_minor", other_minor=pl.col("total_minor") + pl.col("d"),
        difference_minor="d", detail=pl.lit("schedule total differs from line net of credits"))
    truth.rf_delta(wrong, pl.col("legal_entity"), pl.col("currency"), pl.col("booking"),
                   _deferred(-pl.col("d")))

    ratable = old.filter((pl.col("recognition_method") == "ratable")
                         & (pl.col("service_end_excl") > pl.col("service_start")))
    shifted = picker.take("SCHEDULE_PERIOD_MISMATCH", ratable)
    shifted = truth.record(
        "SCHEDULE_PERIOD_MISMATCH", shifted,
        natural_key=pl.lit("invoice_line:") + pl.col("invoice_line_id"), **common,
        billing_minor="total_minor", other_minor="total_minor", difference_minor=pl.lit(0),
        detail=pl.lit("schedule service dates are one month later than the invoice line's"))

    credited = old.filter(pl.col("gross_minor") != pl.col("total_minor")).join(
        single_credits, left_on="invoice_line_id", right_on="invoice_line")
    unreflected = picker.take("CREDIT_NOT_REFLECTED", credited)
    c = pl.col("gross_minor") - pl.col("total_minor")
    unreflected = truth.record(
        "CREDIT_NOT_REFLECTED", unreflected, natural_key=pl.lit("credit_note:") + pl.col(
            "credit_note"), **common, billing_minor="total_minor", other_minor="gross_minor",
        difference_minor=c, detail=pl.lit("schedule still carries the line's gross amount"))
    truth.rf_delta(unreflected, pl.col("legal_entity"), pl.col("currency"), pl.col("booking"),
                   _deferred(-c))

    multi = lines.filter(pl.col("status") == "recognized").group_by("id").agg(
        n=pl.len()).filter(pl.col("n") >= 2)
    drift_pool = ratable.join(multi, on="id", how="semi")
    drift = picker.take("REVENUE_VS_EXPECTED", drift_pool)

    orphan_pool = h.filter((pl.col("recognition_method") == "ratable")
                           & (pl.col("booking") <= LAST_CLOSED_PERIOD)).with_columns(
        invoice=pl.lit("orphan:") + pl.col("id"))
    orphans = picker.take("ORPHAN_SCHEDULE", orphan_pool)
    # Ids continue after the largest one in use (in-transit schedules leave gaps).
    largest = h["id"].str.slice(3).cast(pl.Int64).max()
    first = (largest if isinstance(largest, int) else 0) + 1
    orphans = orphans.with_columns(
        id=ids("rs_", pl.int_range(first, first + pl.len())),
        invoice_id=ids("in_orphan_", pl.int_range(1, pl.len() + 1), 5),
        invoice_line_id=ids("il_orphan_", pl.int_range(1, pl.len() + 1), 5),
        gross_minor="total_minor",
    )
    orphans = truth.record(
        "ORPHAN_SCHEDULE", orphans, natural_key=pl.lit("schedule:") + pl.col("id"), **common,
        billing_minor=pl.lit(0), other_minor="total_minor", difference_minor="total_minor",
        detail=pl.lit("schedule's invoice line does not exist in billing"))
    truth.rf_delta(orphans, pl.col("legal_entity"), pl.col("currency"), pl.col("booking"),
                   -pl.col("total_minor"))

    # Apply: drop, re-total, shift, un-credit, add orphans; then rebuild affected lines.
    headers = headers.join(missing.select("id"), on="id", how="anti")
    totals = pl.concat([
        wrong.select("id", new_total=pl.col("total_minor") + pl.col("d")),
        unreflected.select("id", new_total="gross_minor"),
    ])
    headers = headers.join(totals, on="id", how="left").with_columns(
        total_minor=pl.coalesce("new_total", "total_minor")).drop("new_total")
    shift = shifted.select("id", move=pl.lit(True))
    headers = headers.join(shift, on="id", how="left").with_columns(
        service_start=pl.when(pl.col("move")).then(pl.col("service_start").dt.offset_by("1mo"))
        .otherwise(pl.col("service_start")),
        service_end_excl=pl.when(pl.col("move"))
        .then(pl.col("service_end_excl").dt.offset_by("1mo"))
        .otherwise(pl.col("service_end_excl")),
    ).drop("move")
    headers = pl.concat([headers, orphans.select(headers.columns)], how="vertical_relaxed")
    rebuilt = pl.concat([wrong.select("id"), unreflected.select("id"), shifted.select("id"),
                         orphans.select("id")])
    # A wrong total keeps its dates; the difference lands on the last line, as a manual edit.
    keep = lines.join(rebuilt, on="id", how="anti").join(missing.select("id"), on="id",
                                                         how="anti")
    redo = allocate(headers.join(pl.concat([unreflected.select("id"), shifted.select("id"),
                                            orphans.select("id")]), on="id", how="semi"))
    edited = lines.join(wrong.select("id", "d"), on="id").with_columns(
        amount_minor=pl.when(pl.col("line_number") == pl.col("line_number").max().over("id"))
        .then(pl.col("amount_minor") + pl.col("d")).otherwise(pl.col("amount_minor"))
    ).drop("d")
    lines = pl.concat([keep, redo, edited], how="diagonal_relaxed")
    lines = _drift(lines, drift, truth)
    return headers, finish_lines(lines.select("id", "period", "amount_minor"))


def _drift(lines: pl.DataFrame, drift: pl.DataFrame, truth: Truth) -> pl.DataFrame:
    """REVENUE_VS_EXPECTED: move revenue between the first two closed months of a schedule."""
    if drift.is_empty():
        return lines
    rec = lines.join(drift.select("id", "invoice_line_id", "legal_entity", "currency"),
                     on="id").filter(pl.col("period") <= LAST_CLOSED_PERIOD).sort("id", "period")
    firsts = rec.group_by("id", maintain_order=True).head(2).with_columns(
        pos=pl.int_range(0, pl.len()).over("id"))
    amount_a = firsts.filter(pl.col("pos") == 0).select("id", a="amount_minor")
    moved = firsts.join(amount_a, on="id").with_columns(
        k=pl.max_horizontal(pl.lit(2), pl.col("a").abs() // 10)).with_columns(
        change=pl.when(pl.col("pos") == 0).then(-pl.col("k")).otherwise(pl.col("k")))
    truth.record(
        "REVENUE_VS_EXPECTED", moved.sort("id", "pos"),
        natural_key=pl.format("invoice_line:{}|{}", "invoice_line_id", "period"),
        entity="legal_entity", currency="currency", period="period",
        billing_minor="amount_minor", other_minor=pl.col("amount_minor") + pl.col("change"),
        difference_minor="change", detail=pl.lit("recognised amount differs from expected"))
    return lines.join(moved.select("id", "period", "change"), on=["id", "period"],
                      how="left").with_columns(
        amount_minor=pl.col("amount_minor") + pl.col("change").fill_null(0)).drop("change")
