"""Product usage events and the invoice quantities they produce.

Events are what the product drops as files (``usage/date=YYYY-MM-DD/``, partitioned by the day
they were received).  Most arrive within minutes; about 2% arrive hours to two days late, but
always before the cycle's invoice is finalized, so a clean company invoices every event.  The
usage line of cycle k+1's invoice is the sum of cycle k's events, which is exactly the tie-out
the usage rules check.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from . import reference as ref
from .billing import Lifecycle
from .calendar import AS_OF_EPOCH
from .frames import ids


def build_events(rng: np.random.Generator, life: Lifecycle) -> pl.DataFrame:
    """Usage events for every metered cycle that is invoiced later or still running."""
    cyc = life.cycles.filter("metered")
    has_next = cyc.select("cidx", k=pl.col("k") - 1).with_columns(next_billed=pl.lit(True))
    # A skipped (leaked) cycle still has an invoice slot in the lifecycle; only metered
    # subscriptions are never chosen for leakage, so next_billed means "invoiced next cycle".
    cyc = cyc.join(has_next, on=["cidx", "k"], how="left").with_columns(
        current=pl.col("last") & pl.col("c_end").is_null()
    ).filter(pl.col("next_billed").fill_null(False) | pl.col("current")).sort("cidx", "k")
    n_events = rng.integers(1, 9, size=cyc.height)
    cyc = cyc.with_columns(n_events=pl.Series(n_events)).select(
        "cidx", "k", "cycle_start", "cycle_end", "current",
        e=pl.int_ranges(0, pl.col("n_events")),
    ).explode("e").sort("cidx", "k", "e")
    n = cyc.height
    window_end = pl.min_horizontal("cycle_end", pl.lit(AS_OF_EPOCH))
    late = rng.random(n) < 0.02
    lag = np.where(late, rng.integers(2 * 3600, 48 * 3600, size=n), rng.integers(1, 300, size=n))
    events = cyc.with_columns(
        u=pl.Series(rng.random(n)), lag=pl.Series(lag), quantity=pl.Series(
            rng.integers(1, 400, size=n)),
    ).with_columns(
        occurred=pl.col("cycle_start")
        + ((window_end - pl.col("cycle_start")) * pl.col("u")).cast(pl.Int64),
    ).with_columns(
        # Late events still arrive before the next invoice is finalized (cycle end + 1 h).
        received=pl.min_horizontal(pl.col("occurred") + pl.col("lag"),
                                   pl.col("cycle_end") + 1800),
    ).filter(pl.col("received") <= AS_OF_EPOCH)
    events = events.sort("received", "cidx", "k", "e").with_columns(
        event_id=ids("ev_", pl.int_range(1, pl.len() + 1), 10),
        customer=ids("cus_", pl.col("cidx"), 7),
        subscription_item=pl.lit("si_") + pl.col("cidx").cast(pl.String).str.zfill(7) + "_api",
        metric=pl.lit("api_calls"),
    )
    return events


def fill_usage_lines(lines: pl.DataFrame, events: pl.DataFrame) -> pl.DataFrame:
    """Set each arrears usage line's quantity and amount from the events of its cycle."""
    totals = events.group_by("cidx", "k").agg(usage=pl.col("quantity").sum()).with_columns(
        k=pl.col("k") + 1, item_kind=pl.lit("usage"))
    unit = pl.col("currency").replace_strict(ref.USAGE_UNIT_PRICE, return_dtype=pl.Int64)
    out = lines.join(totals, on=["cidx", "k", "item_kind"], how="left").with_columns(
        usage=pl.col("usage").fill_null(0))
    billable = pl.max_horizontal(pl.lit(0), pl.col("usage") - ref.USAGE_INCLUDED)
    return out.with_columns(
        quantity=pl.when(pl.col("item_kind") == "usage").then(pl.col("usage"))
        .otherwise(pl.col("quantity")),
        amount=pl.when(pl.col("item_kind") == "usage").then(billable * unit)
        .otherwise(pl.col("amount")),
    ).drop("usage")
