"""The generated company's clock: history window, snapshot time, accounting periods.

Everything is fixed rather than taken from the wall clock so that the same arguments give the
same company on any day.  Periods are calendar months in the accounting time zone, because an
invoice finalized at 23:30 on the 31st in Los Angeles belongs to that month even though it is
already the 1st in UTC.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

ACCOUNTING_TZ = "America/Los_Angeles"
REPORTING_CURRENCY = "USD"
HISTORY_START = dt.datetime(2024, 1, 1, 8, 0, tzinfo=dt.UTC)
AS_OF = dt.datetime(2026, 1, 20, 18, 0, tzinfo=dt.UTC)  # the snapshot moment ("now")
LAST_CLOSED_PERIOD = "2025-12"
CLOSE_DAY = 8  # a period is closed on the 8th of the following month, 02:00 UTC
GRACE_HOURS = 24  # a document not synced within this many hours is late, then missing

AS_OF_EPOCH = int(AS_OF.timestamp())
HISTORY_START_EPOCH = int(HISTORY_START.timestamp())


def periods() -> pl.DataFrame:
    """One row per accounting period from the history start to the snapshot's month."""
    months = pl.date_range(dt.date(2024, 1, 1), dt.date(2026, 1, 1), "1mo", eager=True)
    frame = pl.DataFrame({"startdate": months}).with_columns(
        enddate=pl.col("startdate").dt.month_end(),
        period=pl.col("startdate").dt.strftime("%Y-%m"),
        periodname=pl.col("startdate").dt.strftime("%b %Y"),
    )
    close_at = (
        pl.col("startdate").dt.offset_by("1mo").dt.offset_by(f"{CLOSE_DAY - 1}d")
        .cast(pl.Datetime("us")).dt.offset_by("2h").dt.replace_time_zone("UTC")
    )
    closed = pl.col("period") <= LAST_CLOSED_PERIOD
    return frame.with_columns(
        id=pl.int_range(1, pl.len() + 1, dtype=pl.Int64),
        closed=pl.when(closed).then(pl.lit("T")).otherwise(pl.lit("F")),
        closedondate=pl.when(closed).then(close_at),
    )


def local(epoch: pl.Expr) -> pl.Expr:
    """Epoch seconds -> wall-clock datetime in the accounting time zone."""
    return pl.from_epoch(epoch, time_unit="s").dt.replace_time_zone("UTC").dt.convert_time_zone(
        ACCOUNTING_TZ
    )


def period_of(epoch: pl.Expr) -> pl.Expr:
    """Accounting period ``YYYY-MM`` of an epoch-seconds timestamp."""
    return local(epoch).dt.strftime("%Y-%m")


def local_date(epoch: pl.Expr) -> pl.Expr:
    """Calendar date in the accounting time zone of an epoch-seconds timestamp."""
    return local(epoch).dt.date()


def month_end_epoch(epoch: pl.Expr) -> pl.Expr:
    """First instant of the next accounting month after ``epoch`` (exclusive month end)."""
    return (
        local(epoch).dt.truncate("1mo").dt.offset_by("1mo").dt.convert_time_zone("UTC")
        .dt.epoch("s")
    )


def utc(epoch: pl.Expr) -> pl.Expr:
    """Epoch seconds -> timezone-aware UTC datetime (the ERP and revrec representation)."""
    return pl.from_epoch(epoch, time_unit="s").dt.replace_time_zone("UTC")
