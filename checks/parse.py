"""Strict, vectorised parsers from loose source values to the contract's polars types.

``parse_column`` returns two expressions for one contract column: the typed value (null when
the value is missing *or* does not parse) and a problem (null when the value parsed or was
missing, else the end of a one-line reason such as "is not an integer").  A present value
that does not parse is a ``type`` failure of that row; a missing one is left to the model's
nullability.  Nothing here loops over rows.

Accepted text per target type (anything else is a ``type`` failure):

- Int64/Int8: optional "-" then ASCII digits ("1250", "-3", "007"), within the type's range.
  Rejected: "12.50", "1e3", "+5", " 5", "NaN", "Infinity", "inf", "0x10".
- Decimal(p, s): optional "-", digits, optional "." and digits ("12.5", "100", "-0.01");
  at most ``s`` significant decimal places (trailing zeros beyond ``s`` are exact and
  accepted: "12.3400" is 12.34) and at most ``p - s`` integer digits.  Rejected: ".5", "5.",
  "1e3", "12.345" for scale 2, "NaN".
- Boolean: "true"/"false" in any letter case (what a JSON API sends, as text).
- Date: "YYYY-MM-DD" that is a real calendar date (2025-02-30 fails).
- Datetime(us, UTC): "YYYY-MM-DD HH:MM:SS" or with "T", optional fraction of up to 6 digits
  (7-9 only if the extra digits are zeros), optional "Z" or a "+HH:MM"/"+HHMM" offset, which
  is applied; no offset means UTC (SuiteQL sends naive UTC).
- String: kept exactly as received (an empty string in an optional column stays empty).

A blank string in a non-String column counts as missing (CSV exports write nulls that way).

A column that already has its contract type is kept as is.  Integers of another width are
range-checked into Int64/Int8 (or Decimal); Datetimes of another unit or zone are converted to
UTC microseconds; Decimals of another scale are re-read through the decimal text rules;
floats are never accepted for integers or money; other types are read through their text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import polars as pl
from polars._typing import PolarsDataType

_INT = r"^-?[0-9]+$"
_DECIMAL = r"^(-?)([0-9]+)(?:\.([0-9]+))?$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_TIMESTAMP = (r"^([0-9]{4}-[0-9]{2}-[0-9]{2})[T ]([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9])"
              r"(?:\.([0-9]{1,9}))?(Z|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])?$")


@dataclass(frozen=True)
class Parsed:
    """The typed value and the problem (null if none) for one column, as expressions."""

    value: pl.Expr
    problem: pl.Expr
    can_fail: bool = True  # False when the column is taken as is


_KEPT = pl.lit(None, pl.String)


def describe(dtype: PolarsDataType) -> str:
    """A short human name of a contract type for reasons, with its article."""
    if dtype == pl.Int64 or dtype == pl.Int8:
        return "an integer"
    if isinstance(dtype, pl.Decimal):
        return f"a decimal with at most {dtype.scale} places"
    if dtype == pl.Boolean:
        return "a boolean (true/false)"
    if dtype == pl.Date:
        return "a date (YYYY-MM-DD)"
    if isinstance(dtype, pl.Datetime):
        return "a timestamp (ISO 8601, UTC)"
    return f"a {dtype}"


def _problem(*cases: tuple[pl.Expr, str]) -> pl.Expr:
    """The text of the first case whose condition holds, else null."""
    chain: Any = pl
    for condition, text in cases:
        chain = chain.when(condition).then(pl.lit(text))
    return cast(pl.Expr, chain.otherwise(pl.lit(None, pl.String)))


def _int_from_text(raw: pl.Expr, present: pl.Expr, target: PolarsDataType) -> Parsed:
    shaped = raw.str.contains(_INT)
    value = pl.when(present & shaped).then(raw.cast(target, strict=False))
    return Parsed(value, _problem(
        (present & ~shaped, "is not an integer"),
        (present & value.is_null(), f"is outside the {target} range"),
    ))


def _decimal_from_text(raw: pl.Expr, present: pl.Expr, target: pl.Decimal) -> Parsed:
    precision = target.precision or 38
    scale = target.scale
    shaped = raw.str.contains(_DECIMAL)
    sign = raw.str.extract(_DECIMAL, 1)
    whole = raw.str.extract(_DECIMAL, 2)
    fraction = raw.str.extract(_DECIMAL, 3).fill_null("").str.strip_chars_end("0")
    too_precise = fraction.str.len_chars() > scale
    too_large = whole.str.strip_chars_start("0").str.len_chars() > precision - scale
    ok = present & shaped & ~too_precise & ~too_large
    exact = pl.concat_str([sign, whole, pl.lit("."), fraction.str.pad_end(scale, "0")]) \
        if scale else pl.concat_str([sign, whole])
    value = pl.when(ok).then(exact.cast(target, strict=False))
    return Parsed(value, _problem(
        (present & ~shaped, "is not a plain decimal number"),
        (present & too_precise, f"has more than {scale} decimal places"),
        (present & too_large, f"is outside the Decimal({precision}, {scale}) range"),
        (present & value.is_null(), f"is outside the Decimal({precision}, {scale}) range"),
    ))


def _bool_from_text(raw: pl.Expr, present: pl.Expr) -> Parsed:
    lowered = raw.str.to_lowercase()
    value = pl.when(present & (lowered == "true")).then(pl.lit(True)) \
        .when(present & (lowered == "false")).then(pl.lit(False)) \
        .otherwise(pl.lit(None, pl.Boolean))
    return Parsed(value, _problem((present & value.is_null(), "is not a boolean (true/false)")))


def _date_from_text(raw: pl.Expr, present: pl.Expr) -> Parsed:
    shaped = raw.str.contains(_DATE)
    value = pl.when(present & shaped).then(raw.str.to_date("%Y-%m-%d", strict=False))
    return Parsed(value, _problem(
        (present & ~shaped, "is not a date (YYYY-MM-DD)"),
        (present & value.is_null(), "is not a real calendar date"),
    ))


def _datetime_from_text(raw: pl.Expr, present: pl.Expr, target: pl.Datetime) -> Parsed:
    shaped = raw.str.contains(_TIMESTAMP)
    parts = raw.str.extract_groups(_TIMESTAMP)
    digits = parts.struct.field("5").fill_null("")
    sub_micro = digits.str.slice(6).str.contains(r"[1-9]")
    local = pl.concat_str([
        parts.struct.field("1"), pl.lit(" "), parts.struct.field("2"), pl.lit(":"),
        parts.struct.field("3"), pl.lit(":"), parts.struct.field("4"), pl.lit("."),
        digits.str.slice(0, 6).str.pad_end(6, "0"),
    ]).str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S%.f", strict=False)
    zone = parts.struct.field("6").fill_null("Z")
    offset = zone.str.replace(":", "", literal=True)
    minutes = pl.when(zone == "Z").then(pl.lit(0, pl.Int64)).otherwise(
        (offset.str.slice(1, 2).cast(pl.Int64, strict=False) * 60
         + offset.str.slice(3, 2).cast(pl.Int64, strict=False))
        * pl.when(offset.str.starts_with("-")).then(-1).otherwise(1))
    utc = (local - pl.duration(minutes=minutes)).dt.replace_time_zone("UTC")
    ok = present & shaped & ~sub_micro
    value = pl.when(ok).then(utc.dt.cast_time_unit(target.time_unit or "us")
                             .dt.convert_time_zone(target.time_zone or "UTC"))
    return Parsed(value, _problem(
        (present & ~shaped, "is not a timestamp (ISO 8601, e.g. 2025-01-31T07:30:00Z)"),
        (present & sub_micro, "has more than microsecond precision"),
        (present & value.is_null(), "is not a real calendar date/time"),
    ))


def parse_text(raw: pl.Expr, target: PolarsDataType) -> Parsed:
    """Text (as the source sent it) -> ``target``."""
    if target == pl.String:
        return Parsed(raw, _KEPT, can_fail=False)
    present = raw.is_not_null() & (raw.str.strip_chars() != "")
    if target == pl.Int64 or target == pl.Int8:
        return _int_from_text(raw, present, target)
    if isinstance(target, pl.Decimal):
        return _decimal_from_text(raw, present, target)
    if target == pl.Boolean:
        return _bool_from_text(raw, present)
    if target == pl.Date:
        return _date_from_text(raw, present)
    if isinstance(target, pl.Datetime):
        return _datetime_from_text(raw, present, target)
    raise TypeError(f"no loose parser for contract type {target}")  # pragma: no cover


def parse_column(name: str, source: PolarsDataType, target: PolarsDataType) -> Parsed:
    """The typed value and problem of column ``name`` (of dtype ``source``) as ``target``."""
    raw = pl.col(name)
    if source == target:
        return Parsed(raw, _KEPT, can_fail=False)
    if source == pl.Null:
        return Parsed(raw.cast(target), _KEPT, can_fail=False)
    if source == pl.String:
        return parse_text(raw, target)
    if source.is_float() and target != pl.String:
        return Parsed(pl.lit(None, target), _problem(
            (raw.is_not_null(), f"is a floating-point number, not {describe(target)}")))
    if source.is_integer() and (target.is_integer() or isinstance(target, pl.Decimal)):
        value = raw.cast(target, strict=False)
        return Parsed(value, _problem(
            (raw.is_not_null() & value.is_null(), f"is outside the {target} range")))
    if isinstance(source, pl.Datetime) and isinstance(target, pl.Datetime):
        zoned = raw.dt.replace_time_zone("UTC") if source.time_zone is None else raw
        value = zoned.dt.convert_time_zone(target.time_zone or "UTC") \
            .dt.cast_time_unit(target.time_unit or "us")
        lossy = (raw.dt.nanosecond() % 1000 != 0) if source.time_unit == "ns" else pl.lit(False)
        return Parsed(pl.when(~lossy).then(value), _problem(
            (raw.is_not_null() & lossy, "has more than microsecond precision")))
    if source.is_nested() or source in (pl.Object, pl.Binary):
        return Parsed(pl.lit(None, target), _problem(
            (raw.is_not_null(), f"is a {source}, not {describe(target)}")))
    return parse_text(raw.cast(pl.String, strict=False), target)


def as_text(name: str, source: PolarsDataType) -> pl.Expr:
    """Column ``name`` rendered as text for the quarantine's ``value``."""
    raw = pl.col(name)
    if source == pl.String:
        return raw
    if source.is_nested() or source == pl.Object:
        return pl.when(raw.is_not_null()).then(
            pl.struct(raw.alias("v")).struct.json_encode().str.slice(5).str.head(-1))
    return raw.cast(pl.String, strict=False)
