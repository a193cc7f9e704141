"""Rendering typed contract frames the way the sources send them (all text), for gate tests.

- billing (Stripe JSON through ``loose_frame``): integers as digits, booleans "true"/"false";
- ERP (SuiteQL): integers as digits, decimals in plain notation without trailing zeros
  ("100", "12.5"), dates "2025-01-31", timestamps "2025-01-31 07:30:00" (fraction only when
  non-zero), flags already "T"/"F";
- revrec: amounts already decimal strings, dates ISO, timestamps ISO 8601 ending in "Z" on
  even rows and "+00:00" on odd rows;
- support, usage and reference: timestamps ISO 8601 with "Z", decimals as polars prints them
  (support amounts are decimal strings already).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from seeds.tables import SCHEMAS


def read_table(root: Path, table: str) -> pl.DataFrame:
    """A generated company's table as written (usage: all partitions, contract columns)."""
    if table == "usage/events":
        files = sorted((root / "usage").glob("date=*/*.parquet"))
        frame = pl.read_parquet(files, hive_partitioning=False).select(list(SCHEMAS[table]))
        return frame.sort("event_id")
    return pl.read_parquet(root / f"{table}.parquet")


def _plain_decimal(col: pl.Expr) -> pl.Expr:
    text = col.cast(pl.String)
    trimmed = text.str.replace(r"(\.[0-9]*?)0+$", "${1}").str.replace(r"\.$", "")
    return pl.when(text.str.contains(r"\.")).then(trimmed).otherwise(text)


def _timestamp(col: pl.Expr, source: str) -> pl.Expr:
    fraction = col.dt.microsecond() != 0
    if source == "erp":
        return pl.when(fraction).then(col.dt.strftime("%Y-%m-%d %H:%M:%S%.6f")) \
            .otherwise(col.dt.strftime("%Y-%m-%d %H:%M:%S"))
    body = pl.when(fraction).then(col.dt.strftime("%Y-%m-%dT%H:%M:%S%.6f")) \
        .otherwise(col.dt.strftime("%Y-%m-%dT%H:%M:%S"))
    if source == "revrec":
        odd = pl.int_range(pl.len()) % 2 == 1
        return body + pl.when(odd).then(pl.lit("+00:00")).otherwise(pl.lit("Z"))
    return body + pl.lit("Z")


def render_loose(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Every contract column of ``frame`` as String, formatted as ``table``'s source sends it."""
    source = table.split("/", 1)[0]
    columns = []
    for name, dtype in SCHEMAS[table].items():
        col = pl.col(name)
        if dtype == pl.String:
            expr = col
        elif dtype == pl.Boolean:
            expr = pl.when(col).then(pl.lit("true")).when(~col).then(pl.lit("false"))
        elif isinstance(dtype, pl.Decimal):
            expr = _plain_decimal(col) if source == "erp" else col.cast(pl.String)
        elif isinstance(dtype, pl.Datetime):
            expr = _timestamp(col, source)
        elif dtype == pl.Date:
            expr = col.dt.strftime("%Y-%m-%d")
        else:
            expr = col.cast(pl.String)
        columns.append(expr.cast(pl.String).alias(name))
    return frame.select(columns)
