"""Faults that live in billing itself, planted before downstream systems are derived.

Leakage removes a cycle's invoice everywhere; an invoice after cancellation is created
everywhere; extra usage events are never invoiced.  Timing invoices are manual invoices
finalized a fixed time before the snapshot: inside the grace period (in transit, must stay
quiet) or just past it (missing, must be reported).  Downstream stays consistent for all of
these, so each causes exactly the exception it is planted for.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from . import reference as ref
from .billing import Lifecycle
from .calendar import AS_OF_EPOCH, GRACE_HOURS, LAST_CLOSED_PERIOD, local_date, period_of
from .documents import plan_price
from .frames import ids
from .picking import Picker
from .settlement import Settled, tax_of
from .truth import Truth

DAY = 86_400


def _cycle_date(epoch: str) -> pl.Expr:
    return local_date(pl.col(epoch)).dt.strftime("%Y-%m-%d")


def leak_and_overbill(life: Lifecycle, picker: Picker,
                      truth: Truth) -> tuple[Lifecycle, pl.DataFrame]:
    """BILLING_LEAKAGE and CANCELLED_STILL_INVOICED on the billing cycles.

    Returns the changed lifecycle and the (cidx, k) of each cycle invoiced after cancellation,
    whose ground-truth rows ``record_overbill`` writes once invoices are numbered.
    """
    cyc = life.cycles
    plain = ~pl.col("metered") & pl.col("change_k").is_null() & (pl.col("months") == 1)
    leak_pool = cyc.filter(
        plain & pl.col("c_end").is_null() & (pl.col("k") >= 1) & ~pl.col("last")
        & (period_of(pl.col("finalized_at")) <= LAST_CLOSED_PERIOD)
    ).with_columns(invoice=ids("sub_", pl.col("cidx"), 7))  # one leak per subscription
    leaks = picker.take("BILLING_LEAKAGE", leak_pool)
    unit = plan_price(pl.col("currency"), pl.col("plan"), pl.col("months")) * pl.col("qty")
    leaks = truth.record(
        "BILLING_LEAKAGE", leaks,
        natural_key=pl.format("subscription:{}|{}", "invoice", _cycle_date("cycle_start")),
        entity="entity", currency="currency", period=period_of(pl.col("finalized_at")),
        billing_minor=pl.lit(0), other_minor=unit, difference_minor=-unit,
        detail=pl.lit("active subscription has no invoice for this cycle"))
    skipped = leaks.select("cidx", "k", leak=pl.lit(True))
    cycles = cyc.join(skipped, on=["cidx", "k"], how="left").with_columns(
        skipped=pl.col("leak").fill_null(False)).drop("leak")

    ended = cyc.filter(plain & pl.col("last") & pl.col("c_end").is_not_null()
                       & (pl.col("cycle_end") <= AS_OF_EPOCH - 40 * DAY)).with_columns(
        invoice=ids("sub_", pl.col("cidx"), 7))
    over = picker.take("CANCELLED_STILL_INVOICED", ended)
    start = pl.from_epoch("cycle_end", time_unit="s")
    extra = over.with_columns(
        k=pl.col("k") + 1, cycle_start=pl.col("cycle_end"),
        cycle_end=start.dt.offset_by("1mo").dt.epoch("s"), last=pl.lit(False),
        after_end=pl.lit(True), finalized_at=pl.col("cycle_end") + 3600 + 120,
    ).drop("invoice")
    cycles = pl.concat([cycles, extra.select(cycles.columns)], how="vertical_relaxed")
    return Lifecycle(life.customers, cycles, life.changes), extra.select("cidx", "k")


def record_overbill(truth: Truth, invoices: pl.DataFrame, pending: pl.DataFrame) -> None:
    """Ground-truth rows for invoices created after cancellation, now that ids exist."""
    # A voided one was reversed in billing already: nothing was charged after the end.
    rows = invoices.join(pending, on=["cidx", "k"]).filter(
        (pl.col("billing_reason") != "subscription_update") & (pl.col("status") != "void")
    ).sort("id")
    truth.record("CANCELLED_STILL_INVOICED", rows,
                 natural_key=pl.lit("invoice:") + pl.col("id"), entity="entity",
                 currency="currency", period=period_of(pl.col("finalized_at")),
                 billing_minor="total", other_minor=pl.lit(0), difference_minor=pl.col("total"),
                 detail=pl.lit("invoice for a service period after the subscription ended"))


def unbilled_usage(events: pl.DataFrame, s: Settled, picker: Picker,
                   truth: Truth) -> pl.DataFrame:
    """USAGE_NOT_INVOICED: extra events inside an invoiced cycle that billing never saw."""
    usage = s.lines.filter(pl.col("item_kind") == "usage").join(
        s.invoices.select("id", "entity", "finalized_at", "status"), left_on="invoice",
        right_on="id").filter(
        (pl.col("finalized_at") <= AS_OF_EPOCH - (GRACE_HOURS + 24) * 3600)
        & (pl.col("status") != "void"))
    chosen = picker.take("USAGE_NOT_INVOICED", usage)
    if chosen.is_empty():
        return events
    unit = pl.col("currency").replace_strict(ref.USAGE_UNIT_PRICE, return_dtype=pl.Int64)
    extra_qty = 150 + (pl.col("cidx") * 37 % 250)
    rated_all = pl.max_horizontal(pl.lit(0), pl.col("quantity") + extra_qty - ref.USAGE_INCLUDED)
    chosen = truth.record(
        "USAGE_NOT_INVOICED", chosen,
        natural_key=pl.format("subscription_item:{}|{}", "subscription_item",
                              _cycle_date("period_start")),
        entity="entity", currency="currency", period=period_of(pl.col("period_end") - 1),
        billing_minor="amount", other_minor=rated_all * unit,
        difference_minor=rated_all * unit - pl.col("amount"),
        detail=pl.format("{} calls used, {} invoiced", pl.col("quantity") + extra_qty,
                         "quantity"))
    occurred = pl.col("period_start") + (pl.col("period_end") - pl.col("period_start")) // 3
    start = events.height + 1
    extra = chosen.sort("id").select(
        "cidx", k=pl.col("k") - 1, e=pl.lit(99, pl.Int64), quantity=extra_qty,
        occurred=occurred, received=occurred + 60, customer=ids("cus_", pl.col("cidx"), 7),
        subscription_item="subscription_item", metric=pl.lit("api_calls"),
    ).with_columns(event_id=ids("ev_", pl.int_range(start, start + pl.len()), 10))
    return pl.concat([events, extra], how="diagonal_relaxed")


def timing_invoices(s: Settled, life: Lifecycle, counts: dict[str, int],
                    truth: Truth) -> tuple[Settled, pl.DataFrame]:
    """Manual invoices at fixed distances before the snapshot, on the first active customers.

    Returns the settled billing with them added and a frame of (invoice, in_transit) so the
    downstream derivation can leave them out of the ERP (and, in transit, out of revrec).
    """
    n_transit, n_late = counts.get("in_transit", 0), counts.get("past_grace", 0)
    if n_transit + n_late == 0:
        return s, pl.DataFrame(schema={"invoice": pl.String, "in_transit": pl.Boolean})
    # In-transit cases stay inside the grace period however many there are (every 6 h, or
    # closer when more are asked for); late ones start an hour past it.
    step = min(360, (GRACE_HOURS * 60 - 180) // max(1, n_transit))
    minutes_before = [120 + step * i for i in range(n_transit)] + [
        (GRACE_HOURS + 1 + 3 * i) * 60 for i in range(n_late)]
    active = life.customers.join(
        life.cycles.filter(pl.col("c_end").is_null()).select("cidx").unique(), on="cidx"
    ).sort("cidx").head(len(minutes_before))
    n = active.height
    first = s.invoices.height + 1
    inv = active.with_columns(
        minutes=pl.Series(minutes_before[:n]), in_transit=pl.Series([True] * n_transit + [False] *
                                                                n_late)[:n],
    ).with_columns(
        finalized_at=AS_OF_EPOCH - pl.col("minutes") * 60,
        hours=pl.col("minutes") // 60,
        id=ids("in_", pl.int_range(first, first + pl.len())),
        number=pl.lit("INV-") + pl.int_range(first, first + pl.len()).cast(pl.String).str.zfill(7),
    )
    amount = pl.col("currency").replace_strict(ref.ONBOARDING_PRICE, return_dtype=pl.Int64)
    line_start = s.lines.height + 1
    lines = inv.select(
        invoice="id", cidx="cidx", k=pl.lit(-1, pl.Int64), product=pl.lit("prod_onboarding"),
        price=pl.lit("price_onboarding_") + pl.col("currency").str.to_lowercase(),
        description=pl.lit("Professional services (manual invoice)"),
        quantity=pl.lit(1, pl.Int64), amount=amount, discount_amount=pl.lit(0, pl.Int64),
        period_start="finalized_at", period_end="finalized_at", proration=pl.lit(False),
        type=pl.lit("invoiceitem"), item_kind=pl.lit("onboarding"), seq=pl.lit(1),
        currency="currency", taxable="taxable", line_number=pl.lit(1, pl.Int64),
        subscription_item=pl.lit(None, pl.String),
    ).with_columns(id=ids("il_", pl.int_range(line_start, line_start + pl.len()), 9),
                   tax_amount=tax_of(pl.col("amount")))
    totals = lines.select(id="invoice", subtotal="amount", tax="tax_amount",
                          total=pl.col("amount") + pl.col("tax_amount"))
    inv = inv.join(totals, on="id").with_columns(
        customer=ids("cus_", pl.col("cidx"), 7), subscription=pl.lit(None, pl.String),
        billing_reason=pl.lit("manual"), created=pl.col("finalized_at") - 600,
        period_start=pl.col("finalized_at"), period_end=pl.col("finalized_at"),
        total_discount=pl.lit(0, pl.Int64), status=pl.lit("open"), amount_due="total",
        amount_paid=pl.lit(0, pl.Int64), amount_remaining="total",
        attempt_count=pl.lit(0, pl.Int64), due_date=pl.col("finalized_at") + 30 * DAY,
        updated="finalized_at", k=pl.lit(-1, pl.Int64), pre_credit=pl.lit(0, pl.Int64),
        failed=pl.lit(False),
    )
    late = inv.filter(~pl.col("in_transit"))
    quiet = inv.filter(pl.col("in_transit"))
    both: dict[str, Any] = dict(
        entity="entity", currency="currency", period=period_of(pl.col("finalized_at")),
        billing_minor="total", other_minor=pl.lit(0), difference_minor=-pl.col("total"))
    late = truth.record("INVOICE_MISSING_IN_ERP", late,
                        natural_key=pl.lit("invoice:") + pl.col("id"), **both,
                        detail=pl.format("finalized {}h ago, past the {}h grace period",
                                         "hours", pl.lit(GRACE_HOURS)))
    truth.ar_delta(late, pl.col("customer"), pl.col("currency"), -pl.col("total"))
    truth.record("INVOICE_IN_TRANSIT", quiet, expected=False,
                 natural_key=pl.lit("invoice:") + pl.col("id"), **both,
                 detail=pl.format("finalized {}h ago, inside the grace period", "hours"))
    truth.record("SCHEDULE_IN_TRANSIT", lines.join(quiet.select("id", "entity", "hours"),
                                                   left_on="invoice", right_on="id"),
                 expected=False, natural_key=pl.lit("invoice_line:") + pl.col("id"),
                 entity="entity", currency="currency", billing_minor="amount",
                 detail=pl.format("invoice finalized {}h ago, schedule not synced yet",
                                  "hours"))
    def _like(new: pl.DataFrame, old: pl.DataFrame) -> pl.DataFrame:
        shared = new.select([c for c in old.columns if c in new.columns])
        return pl.concat([old, shared], how="diagonal_relaxed")

    settled = Settled(_like(inv, s.invoices), _like(lines, s.lines), s.credit_notes,
                      s.credit_note_lines)
    return settled, inv.select(invoice="id", in_transit="in_transit")
