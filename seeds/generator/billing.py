"""The billing platform's records: customers, subscriptions, cycles, invoices, credit notes.

Built in whole columns (numpy draws + polars expressions), never a Python loop per record,
so a million invoices take seconds.  The lifecycle covers what a SaaS billing system really
produces: new subscriptions, monthly and annual cycles, mid-term upgrades (proration invoice)
and downgrades (proration credit note), renewals, cancellations, goodwill credits and refunds,
failed payments and voids.  Credit notes, voids and downgrades are dated inside the invoice's
own accounting period; DECISIONLOG.md explains why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from . import reference as ref
from .calendar import AS_OF_EPOCH, HISTORY_START_EPOCH, month_end_epoch

DAY = 86_400
CURRENCY_WEIGHTS = {"USD": 0.5, "EUR": 0.25, "GBP": 0.15, "JPY": 0.10}


@dataclass
class Lifecycle:
    """Customers, their billing cycles and their seat changes, before any document exists."""

    customers: pl.DataFrame
    cycles: pl.DataFrame  # one row per invoiced billing cycle
    changes: pl.DataFrame  # one row per upgrade (change=1) or downgrade (change=2)


def _customers(rng: np.random.Generator, pool: int) -> pl.DataFrame:
    ccys = list(CURRENCY_WEIGHTS)
    currency = rng.choice(ccys, size=pool, p=list(CURRENCY_WEIGHTS.values()))
    monthly = rng.random(pool) < 0.75
    seats = np.minimum(50, 1 + rng.geometric(0.12, size=pool))
    return pl.DataFrame({
        "cidx": np.arange(pool, dtype=np.int64),
        "currency": currency,
        "start": rng.integers(HISTORY_START_EPOCH, AS_OF_EPOCH - 5 * DAY, size=pool),
        "months": np.where(monthly, 1, 12),
        "plan": np.where(rng.random(pool) < 0.7, "prod_core", "prod_pro"),
        "seats": seats.astype(np.int64),
        "support": rng.random(pool) < 0.25,
        "onboarding": rng.random(pool) < 0.30,
        "metered": monthly & (rng.random(pool) < 0.40),
        "taxable": (currency != "USD") | (rng.random(pool) < 0.5),
        "cancel": rng.random(pool) < 0.15,
        "cancel_u": rng.random(pool),
        "change": rng.choice([0, 1, 2], size=pool, p=[0.85, 0.10, 0.05]),
        "change_u": rng.random(pool),
        "change_frac": rng.random(pool),
        "seat_step": rng.integers(1, 11, size=pool),
    }).with_columns(
        entity=pl.col("currency").replace_strict(ref.ENTITY_OF_CURRENCY),
        change=pl.when((pl.col("change") == 2) & ((pl.col("months") == 12) | (pl.col("seats") < 2)))
        .then(0).otherwise(pl.col("change")),
    )


def _cycles(customers: pl.DataFrame) -> pl.DataFrame:
    """Explode customers into billing cycles that have been invoiced by the snapshot."""
    start = pl.from_epoch("start", time_unit="s")
    cycles = (
        customers.select("cidx", "start", "months", "cancel", "cancel_u")
        .with_columns(k=pl.int_ranges(0, pl.when(pl.col("months") == 1).then(26).otherwise(3)))
        .explode("k")
        .with_columns(
            cycle_start=start.dt.offset_by(pl.format("{}mo", pl.col("k") * pl.col("months")))
            .dt.epoch("s"),
            cycle_end=start.dt.offset_by(pl.format("{}mo", (pl.col("k") + 1) * pl.col("months")))
            .dt.epoch("s"),
        )
        .filter(pl.col("cycle_start") + 3600 + 600 <= AS_OF_EPOCH)  # finalized by the snapshot
        .with_columns(n=pl.len().over("cidx"))
    )
    # Cancelled customers stop after cycle c_end (never the only cycle).
    c_end = (pl.col("cancel_u") * (pl.col("n") - 1)).floor().cast(pl.Int64)
    cancelled = pl.col("cancel") & (pl.col("n") >= 2)
    return (
        cycles.with_columns(c_end=pl.when(cancelled).then(c_end))
        .filter(pl.col("c_end").is_null() | (pl.col("k") <= pl.col("c_end")))
        .with_columns(last=pl.col("k") == pl.col("k").max().over("cidx"))
        .select("cidx", "k", "cycle_start", "cycle_end", "c_end", "last")
    )


def _changes(customers: pl.DataFrame, cycles: pl.DataFrame) -> pl.DataFrame:
    """Pick the cycle and moment of each upgrade / downgrade and the new seat count."""
    n_kept = cycles.group_by("cidx").agg(n_kept=pl.len())
    frame = customers.filter(pl.col("change") > 0).join(n_kept, on="cidx").with_columns(
        k=(pl.col("change_u") * pl.col("n_kept")).floor().cast(pl.Int64)
    ).join(cycles.select("cidx", "k", "cycle_start", "cycle_end"), on=["cidx", "k"])
    finalized = pl.col("cycle_start") + 3600
    # Downgrades credit the cycle's invoice, so they stay in its accounting month.
    limit = pl.when(pl.col("change") == 2).then(
        pl.min_horizontal("cycle_end", month_end_epoch(finalized))
    ).otherwise(pl.col("cycle_end"))
    limit = pl.min_horizontal(limit - 3 * 3600, pl.lit(AS_OF_EPOCH - 2 * DAY))
    earliest = finalized + 2 * 3600
    frame = frame.with_columns(
        change_at=earliest + ((limit - earliest) * pl.col("change_frac")).cast(pl.Int64),
        ok=(limit - earliest) >= DAY,
        new_seats=pl.when(pl.col("change") == 1)
        .then(pl.col("seats") + pl.col("seat_step"))
        .otherwise(pl.max_horizontal(pl.lit(1), pl.col("seats") - pl.col("seat_step"))),
    ).filter(pl.col("ok") & (pl.col("new_seats") != pl.col("seats")))
    return frame.select("cidx", "change", pl.col("k").alias("change_k"), "change_at",
                        "new_seats", "cycle_start", "cycle_end")


def build_lifecycle(rng: np.random.Generator, n_invoices: int) -> Lifecycle:
    """Customers and cycles worth about ``n_invoices`` invoices (cycles + upgrade invoices)."""
    pool = max(40, n_invoices // 6 + 40)
    customers = _customers(rng, pool)
    cycles = _cycles(customers)
    changes = _changes(customers, cycles)
    # Keep the prefix of customers whose invoices reach the requested count.
    per_customer = cycles.group_by("cidx").agg(n=pl.len()).join(
        changes.filter(pl.col("change") == 1).select("cidx", up=pl.lit(1)), on="cidx", how="left"
    ).sort("cidx").with_columns(total=(pl.col("n") + pl.col("up").fill_null(0)).cum_sum())
    keep = per_customer.filter(pl.col("total") - pl.col("n") < n_invoices).select("cidx")
    customers = customers.join(keep, on="cidx", how="semi")
    changes = changes.join(keep, on="cidx", how="semi")
    cycles = cycles.join(keep, on="cidx", how="semi").join(
        customers.drop("cancel", "cancel_u"), on="cidx"
    ).join(
        changes.select("cidx", "change", "change_k", "change_at", "new_seats"), on="cidx",
        how="left", suffix="_c",
    ).with_columns(
        qty=pl.when(pl.col("change_k").is_not_null() & (pl.col("k") > pl.col("change_k")))
        .then(pl.col("new_seats")).otherwise(pl.col("seats")),
        finalized_at=pl.col("cycle_start") + 3600 + (pl.col("cidx") * 7919 % 600),
        skipped=pl.lit(False),
        after_end=pl.lit(False),
    )
    return Lifecycle(customers, cycles, changes)
