"""Tax, payment status and credit notes: what happens to an invoice after it is finalized.

Voids and credit notes are dated inside the invoice's accounting month and at least a day
before the snapshot, so on a clean company every downstream system has seen them; payments
come at least an hour after finalization (Stripe's automatic collection), by which time the
ERP has the invoice.  These keep a clean company free of timing noise, so that every timing
case in ground truth is one the generator planted on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from . import reference as ref
from .billing import Lifecycle
from .calendar import AS_OF_EPOCH, month_end_epoch
from .documents import plan_price
from .frames import half_up_div, ids

DAY = 86_400


@dataclass
class Settled:
    """Invoices and lines with tax and status, and the credit notes issued against them."""

    invoices: pl.DataFrame
    lines: pl.DataFrame
    credit_notes: pl.DataFrame
    credit_note_lines: pl.DataFrame


def tax_of(amount: pl.Expr) -> pl.Expr:
    """Line tax in minor units: half-up on the currency's rate, zero for untaxed customers."""
    bp = pl.col("currency").replace_strict(ref.TAX_BP, return_dtype=pl.Int64)
    return pl.when(pl.col("taxable")).then(half_up_div(amount * bp, 10000)).otherwise(0)


def settle(rng: np.random.Generator, life: Lifecycle, invoices: pl.DataFrame,
           lines: pl.DataFrame) -> Settled:
    """Add tax, totals, status and payments; issue downgrade and goodwill credit notes."""
    lines = lines.with_columns(tax_amount=tax_of(pl.col("amount")))
    sums = lines.group_by("invoice").agg(
        subtotal=(pl.col("amount") + pl.col("discount_amount")).sum(),
        total_discount=pl.col("discount_amount").sum(),
        tax=pl.col("tax_amount").sum(),
        total=(pl.col("amount") + pl.col("tax_amount")).sum(),
    )
    inv = invoices.join(sums, left_on="id", right_on="invoice", how="left").sort("id")
    n = inv.height
    finalized = pl.col("finalized_at")
    window = month_end_epoch(finalized) - finalized - 3 * 3600
    void_at = finalized + 2 * 3600 + (window * pl.Series(rng.random(n))).cast(pl.Int64)
    max_delay = pl.when(pl.col("months") == 12).then(25 * DAY).otherwise(3 * DAY)
    paid_at = finalized + 3600 + (max_delay * pl.Series(rng.random(n))).cast(pl.Int64)
    inv = inv.with_columns(
        voided_at=pl.when(
            (pl.Series(rng.random(n)) < 0.015) & (pl.col("billing_reason") != "subscription_update")
            & (window >= 3600) & (void_at <= AS_OF_EPOCH - DAY)
        ).then(void_at),
        failed=pl.Series(rng.random(n)) < 0.03,
        paid_at_draw=paid_at,
    ).with_columns(
        paid_at=pl.when(pl.col("voided_at").is_null() & ~pl.col("failed")
                        & (pl.col("paid_at_draw") <= AS_OF_EPOCH)).then(pl.col("paid_at_draw")),
    )
    notes, note_lines = _credit_notes(rng, life, inv, lines)
    pre = notes.filter(pl.col("type") == "pre_payment").group_by("invoice").agg(
        pre_credit=pl.col("total").sum())
    last_note = notes.group_by("invoice").agg(note_at=pl.col("created").max())
    status = (pl.when(pl.col("voided_at").is_not_null()).then(pl.lit("void"))
              .when(pl.col("paid_at").is_not_null()).then(pl.lit("paid"))
              .otherwise(pl.lit("open")))
    inv = inv.join(pre, left_on="id", right_on="invoice", how="left").join(
        last_note, left_on="id", right_on="invoice", how="left"
    ).with_columns(pre_credit=pl.col("pre_credit").fill_null(0), status=status).with_columns(
        amount_due=pl.col("total"),
        amount_paid=pl.when(pl.col("status") == "paid")
        .then(pl.col("total") - pl.col("pre_credit")).otherwise(0),
        amount_remaining=pl.when(pl.col("status") == "open")
        .then(pl.col("total") - pl.col("pre_credit")).otherwise(0),
        attempt_count=pl.when(pl.col("failed") & (pl.col("status") == "open")).then(3)
        .when(pl.col("status") == "paid").then(1).otherwise(0),
        due_date=finalized + 30 * DAY,
        charge=pl.when(pl.col("status") == "paid").then(pl.lit("ch_") + pl.col("id").str.slice(3)),
        updated=pl.max_horizontal(finalized, "paid_at", "voided_at", "note_at"),
    ).drop("paid_at_draw", "note_at")
    return Settled(inv, lines, notes, note_lines)


def _credit_notes(rng: np.random.Generator, life: Lifecycle, inv: pl.DataFrame,
                  lines: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    plan = lines.filter((pl.col("item_kind") == "plan") & ~pl.col("proration")).select(
        invoice="invoice", invoice_line="id", line_amount="amount")
    live = inv.filter(pl.col("voided_at").is_null() & (pl.col("billing_reason")
                                                       != "subscription_update"))
    # Downgrades: credit the unused seats on the current cycle's invoice.
    down = life.changes.filter(pl.col("change") == 2).join(
        life.customers.select("cidx", "seats", "plan", "months", "currency"), on="cidx"
    ).join(live.select("id", "cidx", "k", "finalized_at"), left_on=["cidx", "change_k"],
           right_on=["cidx", "k"]).join(plan, left_on="id", right_on="invoice")
    unit = plan_price(pl.col("currency"), pl.col("plan"), pl.col("months"))
    down = down.select(
        invoice="id", invoice_line="invoice_line", created="change_at",
        reason=pl.lit("order_change"),
        amount=half_up_div(unit * (pl.col("seats") - pl.col("new_seats"))
                           * (pl.col("cycle_end") - pl.col("change_at")),
                           pl.col("cycle_end") - pl.col("cycle_start")),
    )
    # Goodwill credits: 10-50% of the plan line, inside the invoice's month.
    pool = live.join(plan, left_on="id", right_on="invoice").join(
        down.select("invoice"), left_on="id", right_on="invoice", how="anti").sort("id")
    m = pool.height
    window = month_end_epoch(pl.col("finalized_at")) - pl.col("finalized_at") - 3 * 3600
    goodwill = pool.with_columns(
        chosen=pl.Series(rng.random(m)) < 0.02, pct=pl.Series(rng.integers(10, 51, size=m)),
        created=pl.col("finalized_at") + 2 * 3600
        + (window * pl.Series(rng.random(m))).cast(pl.Int64),
    ).filter(pl.col("chosen") & (window >= 3600) & (pl.col("created") <= AS_OF_EPOCH - DAY))
    goodwill = goodwill.select(
        invoice="id", invoice_line="invoice_line", created="created",
        reason=pl.lit("product_unsatisfactory"),
        amount=half_up_div(pl.col("line_amount") * pl.col("pct"), 100),
    )
    notes = pl.concat([down, goodwill]).filter(pl.col("amount") > 0).join(
        inv.select("id", "customer", "currency", "taxable", "paid_at"), left_on="invoice",
        right_on="id",
    ).with_columns(tax=tax_of(pl.col("amount"))).sort("created", "invoice")
    k = pl.int_range(1, pl.len() + 1)
    notes = notes.with_columns(
        id=ids("cn_", k), number=pl.lit("CN-") + k.cast(pl.String).str.zfill(7),
        line_id=ids("cnli_", k), subtotal="amount", total=pl.col("amount") + pl.col("tax"),
        status=pl.lit("issued"), updated="created",
        type=pl.when(pl.col("paid_at").is_not_null() & (pl.col("paid_at") <= pl.col("created")))
        .then(pl.lit("post_payment")).otherwise(pl.lit("pre_payment")),
        memo=pl.when(pl.col("reason") == "order_change").then(pl.lit("Seat downgrade proration"))
        .otherwise(pl.lit("Goodwill credit")),
    ).with_columns(
        refund_amount=pl.when(pl.col("type") == "post_payment").then(pl.col("total"))
        .otherwise(0),
    )
    note_lines = notes.select(id="line_id", credit_note="id", invoice_line="invoice_line",
                              amount="amount", tax_amount="tax")
    return notes.drop("line_id", "taxable", "paid_at"), note_lines
