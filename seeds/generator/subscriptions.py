"""Customer, subscription and subscription-item records as the billing platform lists them."""

from __future__ import annotations

import polars as pl

from .billing import Lifecycle
from .documents import price_id
from .frames import ids

DAY = 86_400


def customer_records(life: Lifecycle) -> pl.DataFrame:
    """Billing customers: created shortly before their first subscription started."""
    c = life.customers
    return c.select(
        "cidx", id=ids("cus_", pl.col("cidx"), 7),
        name=pl.lit("Customer ") + pl.col("cidx").cast(pl.String).str.zfill(7),
        email=pl.lit("billing+") + pl.col("cidx").cast(pl.String) + "@example.com",
        currency="currency", legal_entity="entity", entity="entity",
        created=pl.col("start") - DAY - (pl.col("cidx") * 7919 % (6 * DAY)),
    ).with_columns(updated="created")


def subscription_records(life: Lifecycle) -> pl.DataFrame:
    """One subscription per customer with its current period, cancellation and last change."""
    real = life.cycles.filter(~pl.col("after_end"))
    last = real.group_by("cidx").agg(
        current_period_start=pl.col("cycle_start").max(),
        current_period_end=pl.col("cycle_end").max(),
        c_end=pl.col("c_end").first(),
    )
    changed = life.changes.select("cidx", "change_at")
    subs = life.customers.join(last, on="cidx").join(changed, on="cidx", how="left")
    cancelled = pl.col("c_end").is_not_null()
    ended = pl.col("current_period_end")
    return subs.select(
        id=ids("sub_", pl.col("cidx"), 7), customer=ids("cus_", pl.col("cidx"), 7),
        status=pl.when(cancelled).then(pl.lit("canceled")).otherwise(pl.lit("active")),
        currency="currency",
        billing_interval=pl.when(pl.col("months") == 12).then(pl.lit("year"))
        .otherwise(pl.lit("month")),
        start_date="start", current_period_start="current_period_start",
        current_period_end="current_period_end", cancel_at_period_end=pl.lit(False),
        canceled_at=pl.when(cancelled).then(ended - (1 + pl.col("cidx") % 20) * DAY),
        ended_at=pl.when(cancelled).then(ended),
        created="start",
        updated=pl.max_horizontal("current_period_start", "change_at",
                                  pl.when(cancelled).then(ended)),
    )


def item_records(life: Lifecycle) -> pl.DataFrame:
    """Plan, support and metered API items; the plan item carries the current seat count."""
    c = life.customers.join(life.changes.select("cidx", "new_seats", "change_at"), on="cidx",
                            how="left")
    sid = pl.col("cidx").cast(pl.String).str.zfill(7)
    sub = ids("sub_", pl.col("cidx"), 7)
    plan = c.select(id=pl.lit("si_") + sid + "_plan", subscription=sub,
                    price=price_id(pl.col("plan"), pl.col("currency"), pl.col("months")),
                    product="plan", quantity=pl.coalesce("new_seats", "seats"),
                    created="start", updated=pl.coalesce("change_at", "start"))
    support = c.filter("support").select(
        id=pl.lit("si_") + sid + "_support", subscription=sub,
        price=price_id(pl.lit("prod_support"), pl.col("currency"), pl.col("months")),
        product=pl.lit("prod_support"), quantity=pl.lit(1, pl.Int64), created="start",
        updated="start")
    api = c.filter("metered").select(
        id=pl.lit("si_") + sid + "_api", subscription=sub,
        price=pl.lit("price_api_") + pl.col("currency").str.to_lowercase() + "_month",
        product=pl.lit("prod_api"), quantity=pl.lit(None, pl.Int64), created="start",
        updated="start")
    return pl.concat([plan, support, api]).sort("id")
