"""A day's worth of change to a generated company: a fraction of its records touched.

The incremental-run benchmark needs the next night's sources: the same company with a known
share of its records modified after the last extraction, so API mode fetches only those
(``updated_since``) while every reconciliation result stays what the ground truth says.  The
changes are therefore real edits to fields no rule compares (a customer's e-mail, an invoice's
dunning attempt count, an ERP memo, a schedule's modification stamp), with the modification
stamps moved to ``now``, exactly as an upstream system records a benign edit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from seeds.tables import SCHEMAS


@dataclass(frozen=True)
class Touch:
    """How one export changes: which table, which column moves to ``now``, and the benign
    edit (an expression producing the new value of ``column``) made with it."""

    table: str
    stamp: str
    column: str | None = None
    edit: pl.Expr | None = None


def _touches() -> tuple[Touch, ...]:
    return (
        Touch("billing/customers", "updated", "email",
              pl.concat_str(pl.lit("billing+"), pl.col("id"), pl.lit("@example.com"))),
        Touch("billing/invoices", "updated", "attempt_count",
              pl.col("attempt_count").fill_null(0) + 1),
        Touch("erp/transaction", "lastmodifieddate", "memo",
              pl.concat_str(pl.col("memo").fill_null(""), pl.lit(" (reviewed)"))),
        Touch("revrec/revenue_schedules", "updated_at"),
    )


def touch_fraction(company: Path, fraction: float, now: dt.datetime,
                   seed: int = 0) -> dict[str, int]:
    """Edit ``fraction`` of the rows of each touched export in place, stamped ``now``.

    ERP lines keep their stamps: a header memo edit does not modify the lines, and a line
    stamp after a period's close is a restatement, which would change the ground truth.
    Returns the rows touched per table.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction {fraction} is not in (0, 1]")
    touched: dict[str, int] = {}
    for touch in _touches():
        path = company / f"{touch.table}.parquet"
        frame = pl.read_parquet(path)
        picked = _pick(frame.height, fraction, seed)
        stamp = _stamp_value(touch.table, touch.stamp, now)
        updates = [pl.when(picked).then(stamp).otherwise(pl.col(touch.stamp)).alias(touch.stamp)]
        if touch.column is not None and touch.edit is not None:
            updates.append(pl.when(picked).then(touch.edit).otherwise(pl.col(touch.column))
                           .cast(frame.schema[touch.column]).alias(touch.column))
        frame = frame.with_columns(picked.alias("_picked")).with_columns(updates)
        touched[touch.table] = int(frame["_picked"].sum())
        _write(frame.drop("_picked"), path, touch.table)
    return touched


def _pick(rows: int, fraction: float, seed: int) -> pl.Expr:
    """A seeded, spread-out choice of ``fraction`` of the rows (every k-th, offset by seed)."""
    step = max(1, round(1 / fraction))
    return (pl.int_range(pl.len()) % step) == (seed % step)


def _stamp_value(table: str, column: str, now: dt.datetime) -> pl.Expr:
    dtype = SCHEMAS[table][column]
    if dtype == pl.Int64:  # billing keeps epoch seconds
        return pl.lit(int(now.timestamp()), pl.Int64)
    return pl.lit(now.astimezone(dt.UTC)).cast(dtype)


def _write(frame: pl.DataFrame, path: Path, table: str) -> None:
    """Replace the export atomically, in the contract's column types."""
    frame = frame.cast({c: t for c, t in SCHEMAS[table].items() if c in frame.columns})
    partial = path.with_suffix(".parquet.partial")
    frame.write_parquet(partial)
    partial.replace(path)
