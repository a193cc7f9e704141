"""The revenue-recognition platform's schedules, built from invoice lines net of credits.

Recognition follows the policy tieout's independent expected schedule recomputes: ratable by
day over the service period (dates in the accounting time zone), point-in-time for one-off
items (the invoice's month), usage in the month its billing cycle ends.  Pieces use
cumulative half-up rounding (``tieout.money.allocate_by_weight``) so they sum exactly to the
line amount net of credits.  Lines of closed periods are "recognized", later ones "scheduled".
"""

from __future__ import annotations

import polars as pl

from . import reference as ref
from .calendar import AS_OF_EPOCH, LAST_CLOSED_PERIOD, local_date, period_of
from .frames import half_up_div, ids
from .settlement import Settled

METHOD_OF_PRODUCT = {p[0]: p[3] for p in ref.PRODUCTS}


def schedule_lag() -> pl.Expr:
    """Seconds between finalization and the schedule appearing in revrec (5 min - 2 h)."""
    return 300 + (pl.col("finalized_at") * 2654435761 % 6900)


def build_schedule_headers(s: Settled) -> pl.DataFrame:
    """One schedule per recognisable line (non-zero amount, invoice not void), synced by now."""
    credits = s.credit_note_lines.join(
        s.credit_notes.select("id", "created"), left_on="credit_note", right_on="id"
    ).group_by("invoice_line").agg(credited=pl.col("amount").sum(),
                                   credit_at=pl.col("created").max())
    inv = s.invoices.filter(pl.col("status") != "void").select(
        "id", "customer", "entity", "currency", "finalized_at")
    lines = s.lines.filter(pl.col("amount") != 0).join(
        inv, left_on="invoice", right_on="id", suffix="_inv"
    ).join(credits, left_on="id", right_on="invoice_line", how="left").with_columns(
        created=pl.col("finalized_at") + schedule_lag(),
    ).filter(pl.col("created") <= AS_OF_EPOCH)
    return lines.select(
        invoice_id="invoice", invoice_line_id="id", customer_id="customer",
        legal_entity="entity", currency="currency", product_id="product",
        recognition_method=pl.col("product").replace_strict(METHOD_OF_PRODUCT),
        total_minor=pl.col("amount") - pl.col("credited").fill_null(0),
        gross_minor="amount", finalized_at="finalized_at",
        period_start="period_start", period_end="period_end", created="created",
        updated=pl.max_horizontal("created", pl.col("credit_at") + 600),
    ).sort("created", "invoice_line_id").with_columns(id=ids("rs_", pl.int_range(1, pl.len() + 1)))


def with_service_dates(headers: pl.DataFrame) -> pl.DataFrame:
    """Service start / exclusive end dates in the accounting time zone, per method."""
    start = local_date(pl.col("period_start"))
    end = local_date(pl.col("period_end"))
    point = pl.col("recognition_method") == "point_in_time"
    usage = pl.col("recognition_method") == "usage"
    return headers.with_columns(
        service_start=pl.when(point).then(local_date(pl.col("finalized_at"))).otherwise(start),
        service_end_excl=pl.when(point).then(local_date(pl.col("finalized_at")))
        .otherwise(end),
        usage_period=pl.when(usage).then(period_of(pl.col("period_end") - 1)),
        document_date=local_date(pl.col("finalized_at")),
    )


CHUNK = 250_000  # schedules per allocation batch: bounds the exploded month frame


def allocate(headers: pl.DataFrame) -> pl.DataFrame:
    """Schedule lines: amounts per accounting month, summing exactly to each total."""
    if headers.height > CHUNK:
        return pl.concat([_allocate(headers.slice(i, CHUNK))
                          for i in range(0, headers.height, CHUNK)])
    return _allocate(headers)


def _allocate(headers: pl.DataFrame) -> pl.DataFrame:
    ratable = headers.filter(
        (pl.col("recognition_method") == "ratable")
        & (pl.col("service_end_excl") > pl.col("service_start"))
    )
    months = ratable.select(
        "id", "total_minor", "service_start", "service_end_excl",  # nothing else: 3M+ rows
        month=pl.date_ranges(pl.col("service_start").dt.truncate("1mo"),
                             (pl.col("service_end_excl") - pl.duration(days=1))
                             .dt.truncate("1mo"), "1mo"),
    ).explode("month").with_columns(
        days=(pl.min_horizontal("service_end_excl", pl.col("month").dt.offset_by("1mo"))
              - pl.max_horizontal("service_start", "month")).dt.total_days(),
    ).with_columns(
        cum=pl.col("days").cum_sum().over("id", order_by="month"),
        whole=pl.col("days").sum().over("id"),
    ).with_columns(upto=half_up_div(pl.col("total_minor") * pl.col("cum"), pl.col("whole")))
    months = months.with_columns(
        amount_minor=pl.col("upto") - pl.col("upto").shift(1, fill_value=0).over(
            "id", order_by="month"),
        period=pl.col("month").dt.strftime("%Y-%m"),
    ).select("id", "period", "amount_minor")
    single = headers.join(ratable.select("id"), on="id", how="anti").select(
        "id",
        period=pl.coalesce("usage_period", pl.col("service_start").dt.strftime("%Y-%m")),
        amount_minor="total_minor",
    )
    return finish_lines(pl.concat([months, single]))


def finish_lines(lines: pl.DataFrame) -> pl.DataFrame:
    """Number lines within each schedule and mark closed periods as recognized."""
    return lines.sort("id", "period").with_columns(
        line_number=pl.int_range(1, pl.len() + 1).over("id").cast(pl.Int64),
        status=pl.when(pl.col("period") <= LAST_CLOSED_PERIOD).then(pl.lit("recognized"))
        .otherwise(pl.lit("scheduled")),
    )


def build_revrec(s: Settled) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Schedule headers (with service dates) and their lines for a settled billing history."""
    headers = with_service_dates(build_schedule_headers(s))
    return headers, allocate(headers)
