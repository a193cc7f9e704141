"""Small polars helpers the generator modules share: ids, seeded picks, integer rounding."""

from __future__ import annotations

import numpy as np
import polars as pl


def ids(prefix: str, numbers: pl.Expr, width: int = 8) -> pl.Expr:
    """Readable, sortable ids such as ``in_00000042``."""
    return pl.lit(prefix) + numbers.cast(pl.String).str.zfill(width)


def half_up_div(numerator: pl.Expr, denominator: int | pl.Expr) -> pl.Expr:
    """Integer division rounded half away from zero (the same rule as tieout.money)."""
    d = denominator if isinstance(denominator, pl.Expr) else pl.lit(denominator)
    q = (numerator.abs() * 2 + d) // (d * 2)
    return pl.when(numerator < 0).then(-q).otherwise(q)


def pick(frame: pl.DataFrame, n: int, rng: np.random.Generator) -> pl.DataFrame:
    """A seeded random subset of ``n`` rows (all rows if fewer), in a stable order."""
    if n >= frame.height:
        return frame
    order = rng.permutation(frame.height)[:n]
    return frame[np.sort(order).tolist()]


def minor_to_decimal_str(minor: pl.Expr, exponent: pl.Expr) -> pl.Expr:
    """Integer minor units -> decimal string in major units (``-12.05``, ``1500`` for JPY)."""
    sign = pl.when(minor < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    absolute = minor.abs()
    two = sign + (absolute // 100).cast(pl.String) + "." + (absolute % 100).cast(
        pl.String).str.zfill(2)
    zero = sign + absolute.cast(pl.String)
    return pl.when(exponent == 0).then(zero).otherwise(two)
