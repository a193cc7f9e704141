"""Invoices and invoice lines, derived from billing cycles and seat changes.

Each invoiced cycle gets one invoice (plan seats, support add-on, onboarding on the first, and
the previous cycle's metered usage billed in arrears); each upgrade gets an immediate proration
invoice with an "unused time" credit line and a "remaining time" charge line.  Amounts here are
before tax and settlement (status, payments, credit notes), which ``settlement`` adds.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from . import reference as ref
from .billing import Lifecycle
from .frames import half_up_div, ids


def plan_price(currency: pl.Expr, plan: pl.Expr, months: pl.Expr) -> pl.Expr:
    """List price in minor units for one seat (or one support add-on) per cycle."""
    table = {f"{p}|{c}": v for p, by in ref.MONTHLY_PRICE.items() for c, v in by.items()}
    monthly = pl.concat_str(plan, pl.lit("|"), currency).replace_strict(
        table, return_dtype=pl.Int64
    )
    return pl.when(months == 12).then(monthly * 10).otherwise(monthly)


def price_id(product: pl.Expr, currency: pl.Expr, months: pl.Expr) -> pl.Expr:
    """The price id the catalogue in ``reference.prices`` gives this product and interval."""
    interval = pl.when(months == 12).then(pl.lit("year")).otherwise(pl.lit("month"))
    return pl.concat_str(pl.lit("price_"), product.str.slice(5), pl.lit("_"),
                         currency.str.to_lowercase(), pl.lit("_"), interval)


def build_invoices(life: Lifecycle) -> pl.DataFrame:
    """One invoice per invoiced cycle plus one per upgrade, numbered in finalization order."""
    cycles = life.cycles.filter(~pl.col("skipped"))
    cycle_inv = cycles.select(
        "cidx", "k", "currency", "entity", "taxable", "months",
        billing_reason=pl.when(pl.col("k") == 0).then(pl.lit("subscription_create"))
        .otherwise(pl.lit("subscription_cycle")),
        period_start="cycle_start", period_end="cycle_end", created="cycle_start",
        finalized_at="finalized_at",
    )
    upgrades = life.changes.filter(pl.col("change") == 1).join(life.customers, on="cidx")
    upgrade_inv = upgrades.select(
        "cidx", pl.col("change_k").alias("k"), "currency", "entity", "taxable", "months",
        billing_reason=pl.lit("subscription_update"), period_start="change_at",
        period_end="cycle_end", created="change_at", finalized_at=pl.col("change_at") + 60,
    )
    invoices = pl.concat([cycle_inv, upgrade_inv]).sort("finalized_at", "cidx", "billing_reason")
    n = pl.int_range(1, pl.len() + 1)
    return invoices.with_columns(
        id=ids("in_", n),
        number=pl.lit("INV-") + n.cast(pl.String).str.zfill(7),
        customer=ids("cus_", pl.col("cidx"), 7),
        subscription=ids("sub_", pl.col("cidx"), 7),
    )


def build_lines(life: Lifecycle, invoices: pl.DataFrame) -> pl.DataFrame:
    """Invoice lines before tax; usage lines carry quantity 0 until usage fills them in."""
    key = invoices.select("id", "cidx", "k", "billing_reason")
    needed = ("cidx", "k", "plan", "months", "qty", "currency", "support", "onboarding",
              "metered", "cycle_start", "cycle_end", "finalized_at", "skipped")
    cyc = life.cycles.select(needed).filter(~pl.col("skipped")).join(
        key.filter(pl.col("billing_reason") != "subscription_update"), on=["cidx", "k"]
    )
    base: dict[str, Any] = dict(invoice="id", cidx="cidx", k="k", proration=pl.lit(False))
    gross = plan_price(pl.col("currency"), pl.col("plan"), pl.col("months")) * pl.col("qty")
    discounted = (pl.col("months") == 12) & (pl.col("cidx") % 5 == 0)  # annual deal discount
    discount = pl.when(discounted).then(half_up_div(gross * 1000, 10000)).otherwise(0)
    frames = [
        cyc.select(**base, seq=pl.lit(1), item_kind=pl.lit("plan"), product="plan",
                   price=price_id(pl.col("plan"), pl.col("currency"), pl.col("months")),
                   description=pl.format("{} × {} seats", pl.col("plan"), pl.col("qty")),
                   quantity="qty", amount=gross - discount, discount_amount=discount,
                   period_start="cycle_start", period_end="cycle_end",
                   type=pl.lit("subscription")),
        cyc.filter("support").select(
            **base, seq=pl.lit(2), item_kind=pl.lit("support"), product=pl.lit("prod_support"),
            price=price_id(pl.lit("prod_support"), pl.col("currency"), pl.col("months")),
            description=pl.lit("Premium support"), quantity=pl.lit(1, pl.Int64),
            amount=plan_price(pl.col("currency"), pl.lit("prod_support"), pl.col("months")),
            discount_amount=pl.lit(0, pl.Int64), period_start="cycle_start",
            period_end="cycle_end", type=pl.lit("subscription")),
        cyc.filter(pl.col("onboarding") & (pl.col("k") == 0)).select(
            **base, seq=pl.lit(3), item_kind=pl.lit("onboarding"),
            product=pl.lit("prod_onboarding"),
            price=pl.lit("price_onboarding_") + pl.col("currency").str.to_lowercase(),
            description=pl.lit("Onboarding package"), quantity=pl.lit(1, pl.Int64),
            amount=pl.col("currency").replace_strict(ref.ONBOARDING_PRICE,
                                                     return_dtype=pl.Int64),
            discount_amount=pl.lit(0, pl.Int64), period_start="finalized_at",
            period_end="finalized_at", type=pl.lit("invoiceitem")),
    ]
    # Usage of cycle k-1 is billed in arrears on cycle k's invoice.
    prev = life.cycles.select("cidx", k=pl.col("k") + 1, prev_start="cycle_start",
                              prev_end="cycle_end")
    frames.append(cyc.filter("metered").join(prev, on=["cidx", "k"]).select(
        **base, seq=pl.lit(4), item_kind=pl.lit("usage"), product=pl.lit("prod_api"),
        price=pl.lit("price_api_") + pl.col("currency").str.to_lowercase() + "_month",
        description=pl.lit("API calls"), quantity=pl.lit(0, pl.Int64),
        amount=pl.lit(0, pl.Int64), discount_amount=pl.lit(0, pl.Int64),
        period_start="prev_start", period_end="prev_end", type=pl.lit("subscription")))
    frames.extend(_proration_lines(life, key))
    lines = pl.concat(frames, how="diagonal_relaxed").join(
        life.customers.select("cidx", "currency", "taxable"), on="cidx"
    ).sort("invoice", "seq")
    kind = pl.col("item_kind").replace({"usage": "api"})
    return lines.with_columns(
        id=ids("il_", pl.int_range(1, pl.len() + 1), 9),
        line_number=pl.col("seq").rank("ordinal").over("invoice").cast(pl.Int64),
        subscription_item=pl.when(pl.col("item_kind") == "onboarding").then(None).otherwise(
            pl.concat_str(pl.lit("si_"), pl.col("cidx").cast(pl.String).str.zfill(7),
                          pl.lit("_"), kind)),
    )


def _proration_lines(life: Lifecycle, key: pl.DataFrame) -> list[pl.DataFrame]:
    up = life.changes.filter(pl.col("change") == 1).join(life.customers, on="cidx").join(
        key.filter(pl.col("billing_reason") == "subscription_update"),
        left_on=["cidx", "change_k"], right_on=["cidx", "k"],
    )
    unit = plan_price(pl.col("currency"), pl.col("plan"), pl.col("months"))
    span = pl.col("cycle_end") - pl.col("cycle_start")
    remaining = pl.col("cycle_end") - pl.col("change_at")
    common: dict[str, Any] = dict(invoice="id", cidx="cidx", k="change_k", product="plan",
                  item_kind=pl.lit("plan"),
                  price=price_id(pl.col("plan"), pl.col("currency"), pl.col("months")),
                  discount_amount=pl.lit(0, pl.Int64), period_start="change_at",
                  period_end="cycle_end", proration=pl.lit(True), type=pl.lit("invoiceitem"))
    return [
        up.select(**common, seq=pl.lit(1), quantity="seats",
                  description=pl.format("Unused time on {} seats", pl.col("seats")),
                  amount=-half_up_div(unit * pl.col("seats") * remaining, span)),
        up.select(**common, seq=pl.lit(2), quantity="new_seats",
                  description=pl.format("Remaining time on {} seats", pl.col("new_seats")),
                  amount=half_up_div(unit * pl.col("new_seats") * remaining, span)),
    ]
